"""Event-appending transactions per second from N concurrent writers, through the application's
own append code, and how far projection trails them.

Each writer is a process that does what a saga step does to the log, as fast as it can: one
transaction that updates a row of its own and appends one event last (``appends_last``), then
commits, which wakes the projection runner. Processes, not threads: a thread holding the log's
lock would wait for the interpreter lock while every other writer waits for it.
"""

from __future__ import annotations

import multiprocessing
import time
from dataclasses import dataclass
from typing import ClassVar

from celery import current_app
from django.db import connection, connections, transaction

from eventlog.contracts import DomainEvent
from eventlog.services import appends_last, event_append

SCRATCH_TABLE = "bench_append_rows"
# The longest a writer may take to start and report before the run is called failed.
REPORT_TIMEOUT = 60


@dataclass(frozen=True)
class AppendProbed(DomainEvent):
    """What a benchmark writer appends; no projector reads it, so the runner skips it."""

    TYPE: ClassVar[str] = "AppendProbed"
    AGGREGATE: ClassVar[str] = "bench-writer"

    writer: int
    n: int


class Writers:
    """``count`` writer processes, forked and waiting; ``run`` lets them go together for
    ``seconds`` and returns committed event-appending transactions per second.

    Forked before the caller starts threads of its own (a sampler): a thread's lock held at the
    fork would stay held in the child for ever.
    """

    def __init__(self, count: int, seconds: float):
        self.count, self.seconds = count, seconds
        with connection.cursor() as cursor:
            cursor.execute(
                f"CREATE TABLE IF NOT EXISTS {SCRATCH_TABLE} (writer integer PRIMARY KEY, n bigint)"
            )
            cursor.execute(f"DELETE FROM {SCRATCH_TABLE}")
            for writer in range(count):
                cursor.execute(f"INSERT INTO {SCRATCH_TABLE} (writer, n) VALUES (%s, 0)", [writer])
        # Forked writers must open connections of their own, to the database and to the broker
        # (a commit wakes the projection runner through it).
        connections.close_all()
        current_app.pool.force_close_all()
        context = multiprocessing.get_context("fork")
        self.start_together = context.Barrier(count + 1)
        self.counts = context.Queue()
        self.processes = [
            context.Process(target=_write, args=(writer, seconds, self.start_together, self.counts))
            for writer in range(count)
        ]
        for process in self.processes:
            process.start()

    def run(self) -> float:
        try:
            self.start_together.wait(timeout=REPORT_TIMEOUT)
            total = sum(self.counts.get(timeout=self.seconds + REPORT_TIMEOUT) for _ in self.processes)
        finally:
            for process in self.processes:
                process.join(timeout=REPORT_TIMEOUT)
                if process.is_alive():
                    process.kill()
        return total / self.seconds


def _write(writer: int, seconds: float, start_together, counts) -> None:
    connections.close_all()
    committed = 0
    try:
        start_together.wait(timeout=REPORT_TIMEOUT)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            with transaction.atomic(), appends_last():
                with connection.cursor() as cursor:
                    cursor.execute(f"UPDATE {SCRATCH_TABLE} SET n = n + 1 WHERE writer = %s", [writer])
                event_append(AppendProbed(writer=writer, n=committed), aggregate_id=f"writer-{writer}")
            committed += 1
    finally:
        counts.put(committed)
        connections.close_all()
