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
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import ClassVar

import django
from django.db import connection, connections, transaction

from eventlog.contracts import DomainEvent
from eventlog.services import appends_last, event_append

SCRATCH_TABLE = "bench_append_rows"
# The longest a writer may take to report after its run before the run is called failed.
REPORT_TIMEOUT = 60
WARM_UP_SECONDS = 0.05
# From the last writer's warm-up to the start of the run: every writer is waiting by then.
START_DELAY_SECONDS = 0.5


@dataclass(frozen=True)
class AppendProbed(DomainEvent):
    """What a benchmark writer appends; no projector reads it, so the runner skips it."""

    TYPE: ClassVar[str] = "AppendProbed"
    AGGREGATE: ClassVar[str] = "bench-writer"

    writer: int
    n: int


class Writers:
    """``count`` writer processes, started and warmed up; ``run`` lets them write together for
    ``seconds`` and returns committed event-appending transactions per second.

    Spawned, not forked: a fork would share the caller's open connections to the database and
    the broker with every writer.
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
        self.pool = ProcessPoolExecutor(
            max_workers=count, mp_context=multiprocessing.get_context("spawn"), initializer=django.setup
        )
        # Long enough that every process takes one, so all have started and imported Django.
        list(self.pool.map(time.sleep, [WARM_UP_SECONDS] * count * 2))

    def run(self) -> float:
        """Each writer is a busy process of the pool, so each takes exactly one of the jobs."""
        start_at = time.time() + START_DELAY_SECONDS
        try:
            jobs = [self.pool.submit(_write, writer, start_at, self.seconds) for writer in range(self.count)]
            total = sum(
                job.result(timeout=START_DELAY_SECONDS + self.seconds + REPORT_TIMEOUT) for job in jobs
            )
        finally:
            self.pool.shutdown()
        return total / self.seconds


def _write(writer: int, start_at: float, seconds: float) -> int:
    """Append as fast as one connection can from ``start_at`` for ``seconds``; how many committed."""
    committed = 0
    try:
        time.sleep(max(start_at - time.time(), 0))
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            with transaction.atomic(), appends_last():
                with connection.cursor() as cursor:
                    cursor.execute(f"UPDATE {SCRATCH_TABLE} SET n = n + 1 WHERE writer = %s", [writer])
                event_append(AppendProbed(writer=writer, n=committed), aggregate_id=f"writer-{writer}")
            committed += 1
    finally:
        connections.close_all()
    return committed
