"""python manage.py bench_sagas: sagas per second, latencies and lag, against the machine's limits.

Runs against whatever the settings point to; PostgreSQL and Redis give the real figures. It
starts its own Celery worker (and, for HTTP load and the read benchmark, gunicorn), so stop
other workers on the same broker first.
"""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from rest_framework.authtoken.models import Token

from eventlog.services import event_log_head
from ops import invariants
from ops.bench import calibration, measure, plot, processes, reads, workload
from readmodels.models import OrderSummary
from sagas.models import Saga


def integers(raw: str) -> list[int]:
    return [int(part) for part in raw.split(",") if part.strip()]


def scaling_runs(worker_counts: list[int], line_counts: list[int]) -> list[tuple[int, int]]:
    """Each worker count at the first order size, then each other order size at the most
    workers: how throughput moves with workers, and how cost grows with lines."""
    most = max(worker_counts)
    return [(workers, line_counts[0]) for workers in worker_counts] + [
        (most, lines) for lines in line_counts[1:]
    ]


class Command(BaseCommand):
    help = "Benchmark the sagas and the read side, and compare with the machine's own limits."

    def add_arguments(self, parser):
        parser.add_argument("--orders", type=int, default=2000)
        parser.add_argument("--concurrency", type=int, default=16, help="Concurrent clients placing orders.")
        parser.add_argument("--products", type=int, default=50)
        parser.add_argument(
            "--hot-share", type=float, default=0.2, help="Share of orders that include the hot product."
        )
        parser.add_argument(
            "--failure-share", type=float, default=0.05, help="Share declined or undeliverable."
        )
        parser.add_argument("--mode", choices=["direct", "http"], default="direct")
        parser.add_argument(
            "--rps", type=float, default=0.0, help="Open-loop: orders per second on a fixed schedule."
        )
        parser.add_argument(
            "--workers", default="2", help="Worker process counts to run the load at, e.g. 1,2,4."
        )
        parser.add_argument("--lines", default="1", help="Lines per order to run the load at, e.g. 1,5,20.")
        parser.add_argument(
            "--pool",
            choices=["prefork", "solo", "threads"],
            default="prefork",
            help="prefork: one worker with N child processes; solo: N single-process workers; "
            "threads: N single-process workers with --threads threads each.",
        )
        parser.add_argument("--threads", type=int, default=4, help="Threads per worker with --pool threads.")
        parser.add_argument(
            "--projector",
            choices=["own", "shared"],
            default="own",
            help="own: the projection runner in a single-process worker of its own, as make run and "
            "docker-compose run it; shared: the saga workers serve the readmodels queue too.",
        )
        parser.add_argument("--calibrate-seconds", type=float, default=10.0, help="0 skips calibration.")
        parser.add_argument(
            "--reads", type=int, default=5000, help="Requests of the read benchmark; 0 skips it."
        )
        parser.add_argument(
            "--timeout", type=float, default=600.0, help="Bound on waiting for sagas and projection."
        )
        parser.add_argument("--json", dest="json_path", help="Write every figure to this file.")
        parser.add_argument("--plot", dest="plot_path", help="Draw the scaling curves into this SVG file.")
        parser.add_argument(
            "--peer",
            dest="peer_paths",
            action="append",
            default=[],
            help="Output of a peer run in the same sitting (its PEER_METRICS line): print our sagas/s as a ratio of it.",
        )

    def handle(self, *args, **options):
        self.options = options
        report = {"machine": measure.system_facts(), "settings": self._settings(), "runs": []}
        worker_counts, line_counts = integers(options["workers"]), integers(options["lines"])
        if options["calibrate_seconds"]:
            workers = max(worker_counts)
            with self._worker(workers):
                report["calibration"] = self._calibrate(options["calibrate_seconds"], workers)
        for workers, lines in scaling_runs(worker_counts, line_counts):
            with self._worker(workers) as worker, self._web(options["mode"] == "http") as web:
                report["runs"].append(self._run(workers, lines, web, worker.pids, report.get("calibration")))
        if options["reads"]:
            with self._web(True) as web:
                report["reads"] = self._reads(web.url)
        report["peers"] = [peer_ratios(path, report["runs"]) for path in options["peer_paths"]]
        # The rebuild comparison is left out: it replays the whole log, which grows with every run.
        checks = invariants.run_all(rebuild=False)
        violations = [f"{c.name}: {c.detail}" for c in checks if not c.ok]
        # Everything has ended and been projected by now, so a check that could not judge is a failure too.
        violations += [f"{c.name}: not checked ({c.detail})" for c in checks if not c.checked]
        report["invariants"] = violations or f"ok ({len(checks)} checks, every one judged)"
        self._print(report)
        if options["json_path"]:
            Path(options["json_path"]).write_text(json.dumps(report, indent=2, default=str))
        if options["plot_path"]:
            Path(options["plot_path"]).write_text(plot.scaling_svg(report["runs"]))
        if violations:
            raise CommandError("invariants violated:\n" + "\n".join(violations))

    # --- steps -------------------------------------------------------------------------------

    def _settings(self) -> dict:
        return {
            key: self.options[key]
            for key in ("orders", "concurrency", "products", "hot_share", "failure_share", "mode", "rps")
        }

    def _calibrate(self, seconds: float, workers: int) -> dict:
        clients = self.options["concurrency"]
        self.stdout.write("calibrating: commits (1 client)...")
        single = calibration.commit_rate(seconds=seconds, clients=1)
        self.stdout.write(f"calibrating: commits ({clients} clients)...")
        many = calibration.commit_rate(seconds=seconds, clients=clients)
        self.stdout.write("calibrating: broker round trips...")
        # Two chains per worker process keep every process busy, as prefetch 1 allows.
        trips = calibration.broker_round_trips(seconds=seconds, chains=2 * workers)
        return {
            "commits_per_second_1": round(single),
            "commits_per_second_n": round(many),
            "commit_clients": clients,
            "round_trips_per_second": round(trips),
        }

    def _run(self, workers: int, lines: int, web, pids, limits) -> dict:
        options = self.options
        load = workload.Workload(
            orders=options["orders"],
            concurrency=options["concurrency"],
            products=options["products"],
            hot_share=options["hot_share"],
            failure_share=options["failure_share"],
            lines=lines,
            mode=options["mode"],
            url=web.url,
            rps=options["rps"],
        )
        run = uuid.uuid4().hex
        pools = _worker_pools()
        self.stdout.write(f"load: {load.orders} orders, {lines} line(s), workers: {pools}...")
        shop = workload.prepare_shop(run, load)
        specs = workload.order_specs(shop, load)
        started_at, since = timezone.now(), event_log_head()
        counters = measure.Counters()
        roles = {"saga workers": pids, "web": web.pids}
        if options["projector"] == "own":
            roles.update({"saga workers": pids[:-1], "projector": pids[-1:]})
        with workload.Clients(load) as clients, measure.Sampler(pids) as sampler:
            meter = measure.CpuMeter(roles)
            commands = clients.place_all(specs)
            self._wait_until_done(started_at)
            cpu, busy = meter.cpu_seconds()
        cost = counters.delta()
        figures = measure.saga_figures(started_at)
        sagas = figures["sagas"]
        if not sagas:
            raise CommandError("no saga ended in this run: there is no per-saga figure to report")
        figures.update(
            workers=workers,
            pools=pools,
            lines=lines,
            command_ms=measure.summary_ms(commands),
            projection_lag_ms=measure.summary_ms(sampler.projection_lags(since)),
            messages_per_saga=round(cost["broker_messages"] / sagas, 2)
            if cost["broker_messages"] is not None
            else None,
            commits_per_saga=round(cost["db_commits"] / sagas, 2) if cost["db_commits"] is not None else None,
            worker_peak_rss_mb=round(sampler.peak_rss / 2**20, 1),
            cpu_ms_per_saga={
                kind: round(seconds * 1000 / sagas, 1) for kind, seconds in cpu.items() if seconds
            },
            machine_busy_pct=round(busy * 100, 1),
        )
        if limits and figures["sagas_per_second"]:
            rate = figures["sagas_per_second"]
            if figures["messages_per_saga"]:
                figures["broker_efficiency"] = round(
                    rate * figures["messages_per_saga"] / limits["round_trips_per_second"], 3
                )
            if figures["commits_per_saga"]:
                figures["commit_efficiency"] = round(
                    rate * figures["commits_per_saga"] / limits["commits_per_second_n"], 3
                )
        return figures

    def _wait_until_done(self, started_at) -> None:
        deadline = time.monotonic() + self.options["timeout"]
        while True:
            running = Saga.objects.filter(created_at__gte=started_at, state__in=Saga.ACTIVE_STATES).exists()
            if not running and invariants.read_side.caught_up():
                return
            if time.monotonic() > deadline:
                raise CommandError("sagas or projection did not finish in time")
            time.sleep(0.05)

    def _reads(self, url: str) -> dict:
        reader, _ = get_user_model().objects.get_or_create(
            username="bench-reader", defaults={"is_staff": True}
        )
        staff, _ = Token.objects.get_or_create(user=reader)
        order_ids = list(OrderSummary.objects.values_list("order_id", flat=True)[:50])
        paths = ["/api/orders/", *[f"/api/orders/{order_id}/" for order_id in order_ids]]
        self.stdout.write(f"reads: {self.options['reads']} GETs of /api/orders/ and /api/orders/{{id}}/...")
        return reads.read_load(
            url=url, token=staff.key, paths=paths, requests=self.options["reads"], concurrency=8
        )

    # --- processes ---------------------------------------------------------------------------

    def _worker(self, count: int):
        pool = self.options["pool"]
        if pool == "prefork":
            names, per_worker = [f"bench{count}@%h"], [f"--concurrency={count}"]
        else:
            threads = self.options["threads"] if pool == "threads" else 1
            names = [f"bench{count}-{index}@%h" for index in range(count)]
            per_worker = [f"--pool={pool}", f"--concurrency={threads}"]
        command = [
            str(processes.BIN / "celery"),
            "-A",
            "config",
            "worker",
            "-l",
            "WARNING",
            "--without-gossip",
        ]
        commands = [[*command, "--without-mingle", "-n", name, *per_worker] for name in names]
        if self.options["projector"] == "own":
            commands = [[*saga_worker, "-X", "readmodels"] for saga_worker in commands]
            names.append(f"bench{count}-projector@%h")
            commands.append(
                [*command, "--without-mingle", "-n", names[-1], "--pool=solo", "-Q", "readmodels"]
            )
        return processes.Processes(
            commands,
            ready=lambda: processes.celery_ready(names),
            # A JSON line per task received and done is not what is being measured.
            env={"LOG_LEVEL": "WARNING"},
        )

    def _web(self, needed: bool):
        if not needed:
            return processes.Processes([], ready=lambda: True, url="")
        port = processes.free_port()
        url = f"http://127.0.0.1:{port}"
        return processes.Processes(
            [
                [
                    str(processes.BIN / "gunicorn"),
                    "config.wsgi",
                    "--bind",
                    f"127.0.0.1:{port}",
                    "--workers",
                    "3",
                    "--log-level",
                    "warning",
                ]
            ],
            ready=lambda: processes.answers(f"{url}/healthz"),
            url=url,
        )

    # --- output ------------------------------------------------------------------------------

    def _print(self, report: dict) -> None:
        write = self.stdout.write
        write("")
        write("machine: " + ", ".join(f"{key}={value}" for key, value in report["machine"].items()))
        if "calibration" in report:
            write("limits:  " + ", ".join(f"{key}={value}" for key, value in report["calibration"].items()))
        header = (
            f"{'workers':>7} {'lines':>5} {'sagas':>6} {'sagas/s':>8} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} "
            f"{'lag p50':>7} {'lag p99':>7} {'cmd p50':>7} {'cmd p99':>7} {'msg/saga':>8} {'commits/saga':>12} "
            f"{'broker eff':>10} {'commit eff':>10} {'rss MB':>7}"
        )
        write(header)
        for run in report["runs"]:
            write(
                f"{run['workers']:>7} {run['lines']:>5} {run['sagas']:>6} {_show(run['sagas_per_second']):>8} "
                f"{_show(run['latency_ms']['p50']):>7} {_show(run['latency_ms']['p95']):>7} {_show(run['latency_ms']['p99']):>7} "
                f"{_show(run['projection_lag_ms']['p50']):>7} {_show(run['projection_lag_ms']['p99']):>7} "
                f"{_show(run['command_ms']['p50']):>7} {_show(run['command_ms']['p99']):>7} "
                f"{_show(run['messages_per_saga']):>8} {_show(run['commits_per_saga']):>12} "
                f"{_show(run.get('broker_efficiency')):>10} {_show(run.get('commit_efficiency')):>10} {run['worker_peak_rss_mb']:>7}"
            )
        for run in report["runs"]:
            write(
                f"outcomes ({run['pools']}, {run['lines']} lines): {run['outcomes']}, retries {run['retries']}"
            )
            write(
                "  steps p50/p99 ms: "
                + ", ".join(f"{name} {v['p50']}/{v['p99']}" for name, v in run["steps_ms"].items())
            )
            write(
                "  CPU ms per saga: "
                + ", ".join(f"{kind} {ms}" for kind, ms in run["cpu_ms_per_saga"].items())
                + f" (machine {run['machine_busy_pct']} % busy)"
            )
        if "reads" in report:
            reads_ = report["reads"]
            write(
                f"reads: {reads_['requests_per_second']} req/s, p50 {reads_['latency_ms']['p50']} ms, "
                f"p99 {reads_['latency_ms']['p99']} ms, errors {reads_['errors']} ({reads_['client']})"
            )
        for peer in report.get("peers", []):
            write(
                f"vs peer {peer['label']}: {peer['sagas_per_second']} sagas/s; "
                + ", ".join(f"{run['workers']} workers: {run['ratio']}x" for run in peer["ratios"])
            )
        write(f"invariants: {report['invariants']}")


def peer_ratios(path: str, runs: list[dict]) -> dict:
    """Our sagas/s over the peer's, from the ``PEER_METRICS {json}`` line its harness prints."""
    lines = [line for line in Path(path).read_text().splitlines() if line.startswith("PEER_METRICS ")]
    if not lines:
        raise CommandError(
            f"{path} has no PEER_METRICS line: is it the output of ../shared/peers/dbos_saga.py?"
        )
    peer = json.loads(lines[-1].removeprefix("PEER_METRICS "))
    rate = peer["sagas_per_s"]
    return {
        "label": f"{peer['peer']} {peer['mode']} {peer['participants']} C={peer['concurrency']}",
        "sagas_per_second": rate,
        "ratios": [
            {"workers": run["workers"], "ratio": round(run["sagas_per_second"] / rate, 2) if rate else None}
            for run in runs
        ],
    }


def _show(value) -> str:
    return "-" if value is None else str(value)


def _worker_pools() -> str:
    """The pool each running worker reports of itself, e.g. ``2 x solo (1)``."""
    from config.celery import app

    stats = app.control.inspect(timeout=1.0).stats() or {}
    pools = Counter(
        f"{worker['pool']['implementation'].rsplit('.', 1)[-1].split(':')[0]} ({worker['pool']['max-concurrency']})"
        for worker in stats.values()
    )
    return ", ".join(f"{count} x {pool}" for pool, count in sorted(pools.items()))
