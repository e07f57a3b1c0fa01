"""Real processes for system tests: a Celery worker, beat and gunicorn on the test databases."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from celery import Celery
from django.db import connections

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def wait_for(
    condition: Callable[[], object],
    *,
    timeout: float,
    what: str,
    processes: tuple[ManagedProcess, ...] = (),
    interval: float = 0.2,
) -> object:
    """Poll ``condition`` until it returns something truthy or the deadline passes; on timeout the
    message carries the tail of each process's log."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            result = condition()
            if result:
                return result
        except Exception as error:  # the condition may fail until the system is up
            last_error = error
        time.sleep(interval)
    logs = "".join(f"\n--- {process.name} log:\n{process.output()[-3000:]}" for process in processes)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last error: {last_error!r}){logs}")


def wait_until_ready(
    process: ManagedProcess, *, name: str | None = None, timeout: float = 60, broker_url: str | None = None
) -> None:
    """Wait until the worker called ``name`` (``process.name`` by default) answers a ping through
    the broker at ``broker_url`` (this run's by default): it consumes, which its log line saying
    "ready" does not prove."""
    destination = worker_address(name or process.name)
    if broker_url is None:
        from config.celery import app

        pinging = contextlib.nullcontext(app)
    else:
        # Celery lets CELERY_BROKER_URL in the environment override an app's broker_url, but not
        # the read and write URLs, which the pings and their replies go through.
        pinging = Celery("readiness", set_as_current=False)
        pinging.conf.update(broker_read_url=broker_url, broker_write_url=broker_url)
    with pinging as app:
        wait_for(
            lambda: app.control.ping(destination=[destination], timeout=0.5),
            timeout=timeout,
            what=f"{destination} to answer a ping",
            processes=(process,),
        )


def worker_address(name: str) -> str:
    """What remote control calls the worker started with ``-n name@%h`` on this machine."""
    return f"{name}@{socket.gethostname()}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def child_env(**extra: str) -> dict[str, str]:
    """The environment of a child process that shares this test run's databases and broker."""
    names = {alias: str(connections[alias].settings_dict["NAME"]) for alias in connections}
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "TEST_DATABASE_NAMES": json.dumps(names),
        "PYTHONUNBUFFERED": "1",
        **extra,
    }


class ManagedProcess:
    """A process of the system under test, with its output in a log file."""

    def __init__(self, name: str, args: list[str], env: dict[str, str]):
        self.name = name
        self.log = tempfile.NamedTemporaryFile(prefix=f"{name}-", suffix=".log", delete=False)  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            args, cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def output(self) -> str:
        return Path(self.log.name).read_text(errors="replace")

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = 20) -> None:
        stop_together([self], timeout=timeout)


def stop_together(processes: list[ManagedProcess], *, timeout: float = 20) -> None:
    """SIGTERM to every process group at once, then wait for each, as a supervisor stops its
    processes: the shutdowns overlap. A group still there after ``timeout`` gets SIGKILL."""
    asked = [process for process in processes if process.alive()]
    for process in asked:
        os.killpg(process.process.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for process in asked:
        try:
            process.process.wait(max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            os.killpg(process.process.pid, signal.SIGKILL)
            process.process.wait(timeout)
    for process in processes:
        process.log.close()


def start_worker(
    env: dict[str, str],
    *,
    name: str = "test-worker",
    concurrency: int = 2,
    queues: tuple[str, ...] = (),
    pool: str = "prefork",
    shared: bool = False,
) -> ManagedProcess:
    """A worker serving ``queues``, or every queue when none is named. Unless it is the shared
    one, the shared worker and beat stop first: two workers with different settings must never
    consume the same queues."""
    if not shared:
        SharedProcesses.stop()
    return ManagedProcess(
        name,
        [
            str(BIN / "celery"),
            "-A",
            "config",
            "worker",
            "-n",
            f"{name}@%h",
            f"--concurrency={concurrency}",
            f"--pool={pool}",
            "--loglevel=INFO",
            "--without-gossip",
            "--without-mingle",
            "--exit-with-parent",
            *(["-Q", ",".join(queues)] if queues else []),
        ],
        env,
    )


def start_beat(env: dict[str, str], schedule_dir: Path, *, shared: bool = False) -> ManagedProcess:
    if not shared:
        SharedProcesses.stop()
    return ManagedProcess(
        "beat",
        [
            str(BIN / "celery"),
            "-A",
            "config",
            "beat",
            "--loglevel=INFO",
            "--schedule",
            str(schedule_dir / "beat"),
        ],
        env,
    )


def start_web(env: dict[str, str], port: int) -> ManagedProcess:
    return ManagedProcess(
        "web",
        [str(BIN / "gunicorn"), "config.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "2"],
        env,
    )


class SharedProcesses:
    """One worker and one beat that consecutive system tests share while they ask for the same
    settings: starting and stopping them cost more than most of those tests.

    What one test leaves behind must not reach the next one, which reuses product names and
    customers: ``quiesce`` empties the queues and waits until the worker runs nothing before the
    databases are flushed.
    """

    _settings: object = None
    _processes: tuple[ManagedProcess, ...] = ()

    @classmethod
    def get(
        cls, settings: object, start: Callable[[], tuple[ManagedProcess, ...]]
    ) -> tuple[ManagedProcess, ...]:
        if settings != cls._settings or not all(process.alive() for process in cls._processes):
            cls.stop()
            cls._processes = start()
            cls._settings = settings
        return cls._processes

    @classmethod
    def quiesce(cls, *, timeout: float = 30) -> None:
        from config.celery import app

        worker = next((process for process in cls._processes if process.name == SHARED_WORKER), None)
        if worker is None or not worker.alive():
            return
        destination = [worker_address(SHARED_WORKER)]

        def idle() -> bool:
            app.control.purge()
            inspect = app.control.inspect(destination=destination, timeout=1, limit=1)
            active, reserved = inspect.active(), inspect.reserved()
            return bool(active) and bool(reserved) and not any(active.values()) and not any(reserved.values())

        wait_for(
            idle,
            timeout=timeout,
            what="the shared worker to finish the last test's tasks",
            processes=(worker,),
        )

    @classmethod
    def stop(cls) -> None:
        stop_together(list(cls._processes))
        cls._processes, cls._settings = (), None


SHARED_WORKER = "shared-worker"
