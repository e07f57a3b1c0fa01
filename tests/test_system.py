"""The processes of the system, started for real: gunicorn, a Celery worker and beat."""

import json
import urllib.error
import urllib.request

import pytest
from rest_framework.authtoken.models import Token

from config.celery import app as celery_app
from ops.models import WorkerHeartbeat

from .processes import child_env, free_port, start_beat, start_web, start_worker, stop_together, wait_for

pytestmark = [pytest.mark.system, pytest.mark.django_db(transaction=True, databases=["default", "read"])]

STARTUP_TIMEOUT = 60


@pytest.fixture
def processes():
    started = []
    yield started
    stop_together(started)


def get_json(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def test_a_task_sent_by_the_web_process_runs_on_a_real_worker(processes, staff_user):
    celery_app.control.purge()
    env = child_env()
    port = free_port()
    worker, web = start_worker(env), start_web(env, port)
    processes.extend([worker, web])
    token = Token.objects.create(user=staff_user).key

    def ping_accepted():
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/ops/worker-pings/",
            method="POST",
            headers={"Authorization": f"Token {token}"},
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status == 202

    wait_for(ping_accepted, timeout=STARTUP_TIMEOUT, what="gunicorn to accept the ping", processes=(web,))
    beat = wait_for(
        lambda: WorkerHeartbeat.objects.filter(hostname__startswith="test-worker@").first(),
        timeout=STARTUP_TIMEOUT,
        what="the worker to run the task the web process sent",
        processes=(worker, web),
    )

    assert beat.beats == 1
    assert worker.alive()


def test_web_worker_and_beat_together_report_healthy(processes, tmp_path):
    celery_app.control.purge()
    env = child_env(HEARTBEAT_INTERVAL_SECONDS="1")
    port = free_port()
    processes.extend([start_worker(env), start_beat(env, tmp_path), start_web(env, port)])

    def worker_alive_in_healthz():
        status, body = get_json(f"http://127.0.0.1:{port}/healthz")
        return status == 200 and body["workers"]["ok"] and body

    body = wait_for(
        worker_alive_in_healthz, timeout=STARTUP_TIMEOUT, what="a healthy system", processes=tuple(processes)
    )

    assert body["database"]["ok"]
    assert body["read_database"]["ok"]
    assert body["broker"]["ok"]
    assert any(name.startswith("test-worker@") for name in body["workers"]["alive"])
    assert WorkerHeartbeat.objects.get(hostname__startswith="test-worker@").beats >= 1
