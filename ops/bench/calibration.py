"""The machine's own limits, measured the way the sagas use it: commits on the same database,
messages through the same broker and worker processes."""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass

from django.db import connection, connections, transaction

from ops.models import RelayFinish
from ops.tasks import bench_relay

SCRATCH_TABLE = "bench_commit_probe"


@dataclass(frozen=True)
class Limits:
    commits_per_second_1: float
    commits_per_second_n: float
    clients: int
    round_trips_per_second: float


def commit_rate(*, seconds: float, clients: int) -> float:
    """Single-row INSERT + COMMIT per second, from ``clients`` connections at once."""
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE IF NOT EXISTS {SCRATCH_TABLE} (n integer)")
    counts = [0] * clients
    deadline = time.monotonic() + seconds

    def commit_in_a_loop(index: int) -> None:
        try:
            with connections["default"].cursor() as cursor:
                while time.monotonic() < deadline:
                    with transaction.atomic():
                        cursor.execute(f"INSERT INTO {SCRATCH_TABLE} (n) VALUES (1)")
                    counts[index] += 1
        finally:
            connections.close_all()

    threads = [threading.Thread(target=commit_in_a_loop, args=(index,)) for index in range(clients)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE {SCRATCH_TABLE}")
    return sum(counts) / elapsed


def broker_round_trips(*, seconds: float, chains: int) -> float:
    """Messages per second through the broker and workers when each does nothing but send the
    next: ``chains`` relays run side by side, sized from a short warm-up to last ``seconds``."""
    # Enough to size the measured run; on the embedded broker each hop costs a polling interval,
    # so more would take longer than the run it sizes.
    warm_up_hops = 10
    warm_up = _relay(chains=chains, hops=warm_up_hops, timeout=120)
    hops = max(warm_up_hops, int(warm_up * seconds / chains))
    return _relay(chains=chains, hops=hops, timeout=max(120, seconds * 10))


def _relay(*, chains: int, hops: int, timeout: float) -> float:
    run = uuid.uuid4().hex
    started = time.monotonic()
    for chain in range(chains):
        bench_relay.delay(run=run, chain=chain, hops_left=hops)
    deadline = started + timeout
    while RelayFinish.objects.filter(run=run).count() < chains:
        if time.monotonic() > deadline:
            raise TimeoutError(f"relay did not finish within {timeout:.0f}s: are workers running?")
        time.sleep(0.05)
    elapsed = time.monotonic() - started
    RelayFinish.objects.filter(run=run).delete()
    return chains * (hops + 1) / elapsed
