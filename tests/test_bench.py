"""A tiny run of the benchmark: it runs end to end and the invariants hold (no figure is judged)."""

import json
from io import StringIO

import pytest
from django.core.management import call_command
from rest_framework.authtoken.models import Token

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
    assert report["invariants"] == "ok"
    assert run["sagas"] == 12
    assert sum(run["outcomes"].values()) == 12
    assert run["sagas_per_second"] > 0
    assert report["calibration"]["round_trips_per_second"] > 0
    assert report["reads"]["errors"] == 0


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
