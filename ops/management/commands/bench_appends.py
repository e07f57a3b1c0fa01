"""python manage.py bench_appends: how many event-appending transactions the log takes per second
from 1, 4, 16 and 64 concurrent writers, and how far projection trails them.

It starts its own projection runner (a single-process worker on ``readmodels``), so stop other
workers on the same broker first. It appends ``AppendProbed`` events, which no projector reads,
to the configured write database: point it at a database made for benchmarks.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from eventlog.services import event_log_head
from ops.bench import appends, measure, processes
from readmodels import projection, wiring

PROJECTOR = "bench-appends-projector@%h"
# Each writer commits on the write database and, to wake the runner, reads its pulse on the read one.
CONNECTIONS_PER_WRITER = 2


def integers(raw: str) -> list[int]:
    return [int(part) for part in raw.split(",") if part.strip()]


class Command(BaseCommand):
    help = "Event-appending transactions per second at several numbers of concurrent writers."

    def add_arguments(self, parser):
        parser.add_argument(
            "--writers", default="1,4,16,64", help="Concurrent writer processes, e.g. 1,4,16,64."
        )
        parser.add_argument("--seconds", type=float, default=10.0, help="Length of each run.")
        parser.add_argument("--timeout", type=float, default=120.0, help="Bound on waiting for projection.")
        parser.add_argument("--json", dest="json_path", help="Write every figure to this file.")

    def handle(self, *args, **options):
        runs = []
        projector = processes.Processes(
            [
                [
                    str(processes.BIN / "celery"),
                    "-A",
                    "config",
                    "worker",
                    "-l",
                    "WARNING",
                    "--without-gossip",
                    "--without-mingle",
                    "--pool=solo",
                    "-Q",
                    "readmodels",
                    "-n",
                    PROJECTOR,
                ]
            ],
            ready=lambda: processes.celery_ready([PROJECTOR]),
            # It warns at every batch that no projector reads the benchmark's events.
            env={"LOG_LEVEL": "ERROR"},
        )
        with projector:
            for count in integers(options["writers"]):
                runs.append(self._run(count, options["seconds"], options["timeout"]))
        report = {"machine": measure.system_facts(), "runs": runs}
        self.stdout.write("")
        self.stdout.write(
            "machine: " + ", ".join(f"{key}={value}" for key, value in report["machine"].items())
        )
        self.stdout.write(f"{'writers':>7} {'appends/s':>10} {'lag p50 ms':>10} {'lag p99 ms':>10}")
        for run in runs:
            lag = run["projection_lag_ms"]
            self.stdout.write(
                f"{run['writers']:>7} {run['appends_per_second']:>10} {_show(lag['p50']):>10} {_show(lag['p99']):>10}"
            )
        if options["json_path"]:
            Path(options["json_path"]).write_text(json.dumps(report, indent=2, default=str))

    def _run(self, count: int, seconds: float, timeout: float) -> dict:
        _check_connections(count)
        self.stdout.write(f"load: {count} writer(s) for {seconds:g} s...")
        since = event_log_head()
        writers = appends.Writers(count, seconds)
        with measure.Sampler([]) as sampler:
            rate = writers.run()
            self._wait_for_projection(timeout)
        return {
            "writers": count,
            "appends_per_second": round(rate),
            "projection_lag_ms": measure.summary_ms(sampler.projection_lags(since)),
        }

    def _wait_for_projection(self, timeout: float) -> None:
        names = [projector.name for projector in wiring.PROJECTORS]
        deadline = time.monotonic() + timeout
        while projection.projected_through(names) < event_log_head():
            if time.monotonic() > deadline:
                raise CommandError(f"projection did not reach the head of the log within {timeout:g} s")
            time.sleep(0.05)


def _check_connections(writers: int) -> None:
    """Fail before starting rather than at the first writer PostgreSQL turns away."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_setting('max_connections')::int"
            " - current_setting('superuser_reserved_connections')::int - count(*) FROM pg_stat_activity"
        )
        (free,) = cursor.fetchone()
    needed = writers * CONNECTIONS_PER_WRITER
    if needed > free:
        raise CommandError(
            f"{writers} writers need {needed} connections and the server has {free} free: "
            "raise PostgreSQL's max_connections or run fewer writers"
        )


def _show(value) -> str:
    return "-" if value is None else str(value)
