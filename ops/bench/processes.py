"""The processes a benchmark starts beside its load: Celery workers and gunicorn."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from django.core.management.base import CommandError

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def answers(url: str) -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def celery_ready(names: list[str]) -> bool:
    from config.celery import app

    replies = app.control.ping(timeout=0.5) or []
    answered = {name.split("@", 1)[0] for reply in replies for name in reply}
    return {name.split("@", 1)[0] for name in names} <= answered


class Processes:
    """Start processes for the length of a ``with`` block, wait until ready, stop them after."""

    def __init__(self, commands: list[list[str]], *, ready, url: str = "", env: dict | None = None):
        self.commands, self.ready, self.url, self.processes = commands, ready, url, []
        self.env = {**os.environ, **(env or {})}

    def __enter__(self):
        for command in self.commands:
            self.processes.append(subprocess.Popen(command, env=self.env, start_new_session=True))
        deadline = time.monotonic() + 60
        while not self.ready():
            if time.monotonic() > deadline or any(p.poll() is not None for p in self.processes):
                self.__exit__()
                raise CommandError(f"could not start {self.commands}")
            time.sleep(0.2)
        return self

    @property
    def pids(self) -> list[int]:
        return [process.pid for process in self.processes]

    def __exit__(self, *exc):
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(30)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
        self.processes = []
