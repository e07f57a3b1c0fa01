"""Requests waiting for the read models (X-Min-Event-Position) do not hold up anyone else, under
gunicorn as the image runs it (gunicorn.conf.py)."""

import threading
import time
import urllib.error
import urllib.request

import pytest
from rest_framework.authtoken.models import Token

from eventlog.services import event_log_head
from inventory.services import product_restock
from payments.factories import StaffUserFactory
from readmodels import wiring

from .processes import child_env, free_port, start_web, wait_for
from .readside import add_product, projection_paused

pytestmark = [pytest.mark.system, pytest.mark.django_db(transaction=True, databases=["default", "read"])]

WORKERS = 2  # what tests.processes.start_web runs
MAX_WAITING_PER_WORKER = 2  # settings.READMODELS_CONSISTENCY_MAX_WAITING
WAITERS = 8


def get(url: str, token: str, **headers) -> tuple[int, dict]:
    request = urllib.request.Request(url, headers={"Authorization": f"Token {token}", **headers})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers)


def test_waiting_reads_leave_threads_for_other_requests():
    add_product("KB", stock=5)
    with projection_paused():
        product_restock(sku="KB", quantity=1)
    unprojected = str(event_log_head())
    token = Token.objects.create(user=StaffUserFactory()).key
    port = free_port()
    web = start_web(child_env(READMODELS_CONSISTENCY_WAIT_SECONDS="60"), port)
    base = f"http://127.0.0.1:{port}"
    answers: list[tuple[int, dict]] = []
    try:
        wait_for(
            lambda: get(f"{base}/api/products/", token)[0] == 200,
            timeout=60,
            what="gunicorn",
            processes=(web,),
        )
        waiters = [
            threading.Thread(
                target=lambda: answers.append(
                    get(f"{base}/api/products/KB/", token, **{"X-Min-Event-Position": unprojected})
                )
            )
            for _ in range(WAITERS)
        ]
        for waiter in waiters:
            waiter.start()
        # Each worker lets two wait; every other waiter is turned away at once.
        turned_away = WAITERS - WORKERS * MAX_WAITING_PER_WORKER
        wait_for(
            lambda: len(answers) >= turned_away, timeout=20, what="the waiters over the cap to be answered"
        )

        started = time.monotonic()
        status, _ = get(f"{base}/api/products/", token)
        elapsed = time.monotonic() - started
        still_waiting = sum(waiter.is_alive() for waiter in waiters)

        wiring.catch_up()  # the awaited position is projected: the waiting requests now answer
        for waiter in waiters:
            waiter.join(timeout=30)
    finally:
        web.stop()

    assert status == 200
    assert elapsed < 2, f"another user's request took {elapsed:.1f} s"
    assert still_waiting >= 1
    assert len(answers) == WAITERS
    assert {code for code, _ in answers} <= {200, 503}
    assert all(int(headers["Retry-After"]) >= 1 for code, headers in answers if code == 503)
    assert 1 <= sum(code == 200 for code, _ in answers) <= WORKERS * MAX_WAITING_PER_WORKER
