"""A tiny run of the benchmark: it runs end to end, the invariants hold, and its figures are sane
(no speed is judged)."""

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from rest_framework.authtoken.models import Token

from ops import invariants
from payments.factories import StaffUserFactory

from .processes import child_env

pytestmark = [pytest.mark.system, pytest.mark.django_db(transaction=True, databases=["default", "read"])]


def test_a_small_benchmark_runs_and_keeps_the_books(monkeypatch, tmp_path):
    for name in ("DJANGO_SETTINGS_MODULE", "TEST_DATABASE_NAMES"):
        monkeypatch.setenv(name, child_env()[name])
    Token.objects.create(user=StaffUserFactory())
    report_path = tmp_path / "bench.json"

    call_command(
        "bench_sagas",
        orders=12,
        concurrency=3,
        products=4,
        workers="1",
        calibrate_seconds=0.5,
        reads=40,
        timeout=120,
        json_path=str(report_path),
        stdout=StringIO(),
    )

    report = json.loads(report_path.read_text())
    run = report["runs"][0]
    assert report["invariants"] == f"ok ({len(invariants.run_all(rebuild=False))} checks, every one judged)"
    assert run["sagas"] == 12
    assert sum(run["outcomes"].values()) == 12
    assert run["sagas_per_second"] > 0
    assert report["calibration"]["round_trips_per_second"] > 0
    assert report["reads"]["errors"] == 0
    assert run["pools"] == "1 x prefork (1), 1 x solo (1)", "the pools as the running workers report them"
    cpu = run["cpu_ms_per_saga"]
    assert cpu["saga workers"] > 0, "the saga workers' CPU, read from /proc"
    assert cpu["projector"] > 0
    assert cpu["clients"] > 0
    assert 0 < run["machine_busy_pct"] <= 100
    latency = run["latency_ms"]
    assert 0 < latency["p50"] <= latency["p95"] <= latency["p99"]
    if run["messages_per_saga"] is not None:
        # At least the four commands of a saga; the sweeper and the runner may add a few.
        assert 4 <= run["messages_per_saga"] <= 20
    if connection.vendor == "postgresql":
        # A saga writes at least its order and its four steps.
        assert 5 <= run["commits_per_saga"] <= 60


def test_our_rate_is_printed_as_a_ratio_of_a_peer_run_from_the_same_sitting(tmp_path):
    from django.core.management.base import CommandError

    from ops.management.commands.bench_sagas import peer_ratios

    output = tmp_path / "peer.log"
    metrics = {
        "peer": "dbos",
        "mode": "queue",
        "participants": "transaction",
        "concurrency": 16,
        "sagas_per_s": 40.0,
    }
    output.write_text("a table\nPEER_METRICS " + json.dumps(metrics) + "\n")

    peer = peer_ratios(str(output), [{"workers": 2, "sagas_per_second": 50.0}])

    assert peer == {
        "label": "dbos queue transaction C=16",
        "sagas_per_second": 40.0,
        "ratios": [{"workers": 2, "ratio": 1.25}],
    }
    output.write_text("no metrics here\n")
    with pytest.raises(CommandError, match="no PEER_METRICS line"):
        peer_ratios(str(output), [])


def test_the_appends_benchmark_counts_what_its_writers_committed(monkeypatch, tmp_path):
    from eventlog.models import Event
    from readmodels import projection, wiring

    for name in ("DJANGO_SETTINGS_MODULE", "TEST_DATABASE_NAMES"):
        monkeypatch.setenv(name, child_env()[name])
    report_path = tmp_path / "appends.json"

    call_command("bench_appends", writers="1,3", seconds=1, json_path=str(report_path), stdout=StringIO())

    runs = json.loads(report_path.read_text())["runs"]
    assert [run["writers"] for run in runs] == [1, 3]
    appended = Event.objects.filter(type="AppendProbed").count()
    # Each run's rate is what its writers committed in their second, so the two add up to the log.
    assert sum(run["appends_per_second"] for run in runs) == pytest.approx(appended, abs=2)
    assert all(run["appends_per_second"] > 0 for run in runs)
    assert all(0 <= run["projection_lag_ms"]["p50"] <= run["projection_lag_ms"]["p99"] for run in runs)
    names = [projector.name for projector in wiring.PROJECTORS]
    assert projection.projected_through(names) >= Event.objects.order_by("-position").first().position
