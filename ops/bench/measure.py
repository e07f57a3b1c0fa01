"""What a run cost and how long things took, read from the database, the broker and /proc."""

from __future__ import annotations

import bisect
import threading
import time
from collections import Counter, defaultdict
from datetime import datetime

import psutil
from django.conf import settings
from django.db import connections
from django.utils import timezone

from eventlog.models import Event
from readmodels.models import ProjectorCheckpoint
from sagas.models import Saga, SagaStep


def percentile(values: list[float], share: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def summary_ms(values: list[float]) -> dict:
    return {
        name: round(value * 1000, 1) if value is not None else None
        for name, value in (
            ("p50", percentile(values, 0.5)),
            ("p95", percentile(values, 0.95)),
            ("p99", percentile(values, 0.99)),
        )
    }


class Sampler:
    """Samples, every few milliseconds, how far projection has got and the workers' memory."""

    def __init__(self, worker_pids: list[int], interval: float = 0.01):
        self.worker_pids = worker_pids
        self.interval = interval
        self.projected: list[tuple[datetime, int]] = []
        self.peak_rss = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        last_rss = 0.0
        try:
            while not self._stop.is_set():
                position = min(ProjectorCheckpoint.objects.values_list("position", flat=True), default=0)
                self.projected.append((timezone.now(), position))
                if time.monotonic() - last_rss > 0.2:
                    self.peak_rss = max(self.peak_rss, self._rss())
                    last_rss = time.monotonic()
                time.sleep(self.interval)
        finally:
            connections.close_all()

    def _rss(self) -> int:
        total = 0
        for pid in self.worker_pids:
            try:
                process = psutil.Process(pid)
                total += sum(p.memory_info().rss for p in [process, *process.children(recursive=True)])
            except psutil.NoSuchProcess:
                continue
        return total

    def projection_lags(self, since_position: int) -> list[float]:
        """Seconds from each event's commit to the first sample showing it projected."""
        times = [sampled_at for sampled_at, _ in self.projected]
        positions = [position for _, position in self.projected]
        lags = []
        for position, occurred_at in Event.objects.filter(position__gt=since_position).values_list(
            "position", "occurred_at"
        ):
            index = bisect.bisect_left(positions, position)
            if index < len(times):
                lags.append(max((times[index] - occurred_at).total_seconds(), 0.0))
        return lags


# Servers seen by their process names: PostgreSQL's backends, and the broker (Redis or RabbitMQ).
SERVER_PROCESSES = {"postgres": ("postgres",), "broker": ("redis-server", "beam.smp")}


class CpuMeter:
    """CPU time each kind of process spent while the load ran, read from /proc.

    ``roles`` names the processes this benchmark started (saga workers, the projector, gunicorn),
    each counted with its children; the benchmark's other children are the order-placing
    clients; the servers are found by name. Processes that end before the last reading are not
    counted, so the reading is taken while the clients still run.
    """

    def __init__(self, roles: dict[str, list[int]]):
        self.roles = roles
        self._first = self._read()
        self._machine = psutil.cpu_times()

    def cpu_seconds(self) -> tuple[dict[str, float], float]:
        """Seconds of CPU per kind since the meter started, and how busy the machine was (a share of 1)."""
        last, machine = self._read(), psutil.cpu_times()
        spent = {kind: round(last[kind] - self._first.get(kind, 0.0), 3) for kind in last}
        total = sum(machine) - sum(self._machine)
        idle = (machine.idle + machine.iowait) - (self._machine.idle + self._machine.iowait)
        return spent, (1 - idle / total) if total else 0.0

    def _read(self) -> dict[str, float]:
        me = psutil.Process()
        started = {pid for pids in self.roles.values() for pid in pids}
        found = {kind: _cpu_of_trees(pids) for kind, pids in self.roles.items()}
        found["clients"] = _cpu_of_trees([child.pid for child in me.children() if child.pid not in started])
        for kind, names in SERVER_PROCESSES.items():
            found[kind] = sum(
                _cpu(process) for process in psutil.process_iter(["name"]) if process.info["name"] in names
            )
        times = me.cpu_times()
        found["benchmark"] = times.user + times.system
        return found


def _cpu_of_trees(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            root = psutil.Process(pid)
            total += sum(_cpu(process) for process in [root, *root.children(recursive=True)])
        except psutil.NoSuchProcess:
            continue
    return total


def _cpu(process: psutil.Process) -> float:
    try:
        times = process.cpu_times()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return 0.0
    return times.user + times.system


def saga_figures(started_at: datetime) -> dict:
    sagas = list(
        Saga.objects.filter(created_at__gte=started_at, type="place_order").values(
            "state", "failure_code", "created_at", "finished_at"
        )
    )
    latencies = [(s["finished_at"] - s["created_at"]).total_seconds() for s in sagas if s["finished_at"]]
    first = min((s["created_at"] for s in sagas), default=None)
    last = max((s["finished_at"] for s in sagas if s["finished_at"]), default=None)
    span = (last - first).total_seconds() if first and last else 0
    steps = defaultdict(list)
    retries = 0
    for name, direction, started, finished, attempts in SagaStep.objects.filter(
        saga__created_at__gte=started_at, saga__type="place_order"
    ).values_list("name", "direction", "started_at", "finished_at", "attempts"):
        retries += max(attempts - 1, 0)
        if finished and attempts:
            steps[f"{name}" if direction == "FORWARD" else f"{name} (undo)"].append(
                (finished - started).total_seconds()
            )
    return {
        "sagas": len(sagas),
        "sagas_per_second": round(len(latencies) / span, 1) if span else None,
        "latency_ms": summary_ms(latencies),
        "steps_ms": {name: summary_ms(values) for name, values in sorted(steps.items())},
        "outcomes": dict(Counter(s["failure_code"] or s["state"] for s in sagas)),
        "retries": retries,
    }


class Counters:
    """Broker publishes and database write transactions, counted by the servers themselves."""

    def __init__(self):
        self.broker = self._broker_publishes()
        self.commits = self._commits()

    def delta(self) -> dict:
        broker, commits = self._broker_publishes(), self._commits()
        return {
            "broker_messages": broker - self.broker
            if broker is not None and self.broker is not None
            else None,
            "db_commits": commits - self.commits
            if commits is not None and self.commits is not None
            else None,
        }

    @staticmethod
    def _broker_publishes() -> int | None:
        if not settings.CELERY_BROKER_URL.startswith("redis"):
            return None
        import redis

        stats = redis.Redis.from_url(settings.CELERY_BROKER_URL).info("commandstats")
        # kombu's Redis transport publishes each message with one LPUSH.
        return stats.get("cmdstat_lpush", {}).get("calls", 0)

    @staticmethod
    def _commits() -> int | None:
        """Transaction ids PostgreSQL has handed out: one per transaction that wrote (and per
        savepoint that wrote), on any database of the cluster, so the machine must be quiet.
        Read-only transactions take none, so the benchmark's own polling is not counted."""
        if connections["default"].vendor != "postgresql":
            return None
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT pg_current_xact_id()::text::bigint")
            return int(cursor.fetchone()[0])


def system_facts() -> dict:
    facts = {"cpus": psutil.cpu_count(), "memory_gb": round(psutil.virtual_memory().total / 2**30, 1)}
    connection = connections["default"]
    facts["database"] = connection.vendor
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            facts["postgresql"] = cursor.fetchone()[0]
            cursor.execute("SHOW synchronous_commit")
            facts["synchronous_commit"] = cursor.fetchone()[0]
    if settings.CELERY_BROKER_URL.startswith("redis"):
        import redis

        facts["redis"] = redis.Redis.from_url(settings.CELERY_BROKER_URL).info("server")["redis_version"]
    facts["broker"] = settings.CELERY_BROKER_URL.split("://", 1)[0]
    facts["prefetch"] = settings.CELERY_WORKER_PREFETCH_MULTIPLIER
    return facts
