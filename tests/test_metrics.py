"""GET /metrics: Prometheus' text format, read back with prometheus-client's own parser.

Saga and projection figures are read from the databases at scrape time, so they count the work
of every process; HTTP latencies are shared between gunicorn workers in multiprocess mode."""

import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from uuid import uuid4

import pytest
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from ops import read_side
from readmodels import wiring
from readmodels.models import ProjectorCheckpoint
from sagas.models import SagaStep

from .conftest import token_client
from .processes import child_env, free_port, start_web, wait_for
from .readside import add_product, register
from .sagas import order_body, wait_for_saga
from .test_dashboard import completed_order, failed_cancellation, out_of_stock_order


def get(url: str) -> int:
    with urllib.request.urlopen(url, timeout=5) as response:
        response.read()
        return response.status


def scrape(client=None) -> dict[tuple[str, tuple], float]:
    """Every sample of /metrics as {(sample name, sorted labels): value}."""
    response = (client or Client()).get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    return samples(response.content.decode())


def samples(text: str) -> dict[tuple[str, tuple], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(metrics, name: str, **labels) -> float:
    return metrics.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.mark.django_db(databases=["default", "read"])
def test_saga_counters_come_from_the_event_log_by_type_and_reason():
    add_product("KB", stock=50)
    alice = register("alice", limit="10000.00")
    completed_order(alice)
    completed_order(alice)
    out_of_stock_order(alice)
    failed_cancellation()

    metrics = scrape()

    assert value(metrics, "metrics_database_up") == 1
    assert value(metrics, "sagas_started_total", type="place_order") == 3
    assert value(metrics, "sagas_started_total", type="cancel_order") == 1
    assert value(metrics, "sagas_started_total", type="dispatch_order") == 0
    assert value(metrics, "sagas_completed_total", type="place_order") == 2
    assert value(metrics, "sagas_compensated_total", type="place_order", reason="OUT_OF_STOCK") == 1
    assert value(metrics, "sagas_failed_total", type="cancel_order", reason="STEP_FAILED") == 1
    assert value(metrics, "sagas_in_state", type="cancel_order", state="FAILED") == 1
    assert value(metrics, "sagas_overdue", type="place_order") == 0


@pytest.mark.django_db(databases=["default", "read"])
def test_step_latency_is_a_histogram_per_saga_type_step_direction_and_status():
    add_product("KB", stock=50)
    alice = register("alice", limit="10000.00")
    order = completed_order(alice)
    out_of_stock_order(alice)
    # The replies came within milliseconds; give the step a known duration instead.
    step = SagaStep.objects.get(saga_id=order.saga_id, name="reserve_stock")
    SagaStep.objects.filter(pk=step.pk).update(finished_at=step.started_at + timedelta(milliseconds=300))

    metrics = scrape()

    reserve = {"saga_type": "place_order", "step": "reserve_stock", "direction": "FORWARD"}
    assert value(metrics, "saga_step_duration_seconds_count", **reserve, status="SUCCEEDED") == 1
    assert value(metrics, "saga_step_duration_seconds_count", **reserve, status="FAILED") == 1
    rejection = {"saga_type": "place_order", "step": "reject_order", "direction": "COMPENSATION"}
    assert value(metrics, "saga_step_duration_seconds_count", **rejection, status="SUCCEEDED") == 1
    succeeded = {**reserve, "status": "SUCCEEDED"}
    assert value(metrics, "saga_step_duration_seconds_bucket", **succeeded, le="0.25") == 0
    assert value(metrics, "saga_step_duration_seconds_bucket", **succeeded, le="0.5") == 1
    assert value(metrics, "saga_step_duration_seconds_bucket", **succeeded, le="+Inf") == 1
    assert value(metrics, "saga_step_duration_seconds_sum", **succeeded) == pytest.approx(0.3)


@pytest.mark.django_db(databases=["default", "read"])
def test_projection_lag_and_orders_by_status_come_from_the_read_side():
    add_product("KB", stock=50)
    alice = register("alice", limit="10000.00")
    completed_order(alice)
    wiring.catch_up()
    completed_order(alice)  # two more events than the projectors have seen
    ProjectorCheckpoint.objects.filter(projector="daily_sales").update(failures=3)

    metrics = scrape()

    lag = value(metrics, "readmodels_projection_lag_events", projector="order_summary")
    assert lag > 0
    assert value(metrics, "readmodels_projection_lag_seconds", projector="order_summary") >= 0
    assert value(metrics, "readmodels_projection_failures_total", projector="daily_sales") == 3
    assert value(metrics, "readmodels_projector_position", projector="order_summary") > 0
    assert value(metrics, "orders_in_status", status="PENDING") == 1
    wiring.catch_up()
    assert value(scrape(), "readmodels_projection_lag_events", projector="order_summary") == 0


@pytest.mark.django_db(databases=["default", "read"])
def test_http_latency_is_observed_by_url_pattern_not_by_path():
    client = Client()
    before = scrape(client)
    for _ in range(3):
        client.get(f"/api/orders/{uuid4()}/")

    metrics = scrape(client)

    labels = {"method": "GET", "route": "api/orders/<uuid:order_id>/", "status": "401"}
    count = "http_request_duration_seconds_count"
    assert value(metrics, count, **labels) - value(before, count, **labels) == 3
    assert value(metrics, "http_request_duration_seconds_bucket", **labels, le="+Inf") >= 3
    assert not any(str(uuid4())[:8] in str(key) for key in metrics)


@pytest.mark.django_db(databases=["default", "read"])
def test_anonymous_methods_and_paths_fold_into_bounded_labels():
    client = Client()
    scrape(client)  # so that the scrape's own series exists before counting new ones
    before = {key for key in scrape(client) if key[0] == "http_request_duration_seconds_count"}
    for index in range(5):
        client.generic(f"XFOO{index}", "/healthz")
        client.get(f"/no-such-page-{index}/")
        client.get(f"/api/no-such-thing-{index}/")

    after = {key for key in scrape(client) if key[0] == "http_request_duration_seconds_count"}

    new_series = {dict(labels)["method"] + " " + dict(labels)["route"] for _, labels in after - before}
    assert new_series <= {"other healthz", "GET unmatched"}
    folded = value(
        scrape(client), "http_request_duration_seconds_count", method="other", route="healthz", status="405"
    )
    assert folded >= 5


@pytest.mark.django_db(databases=["default", "read"])
def test_a_database_that_does_not_answer_leaves_the_http_figures(monkeypatch):
    from django.db import DatabaseError

    from observability import metrics as collector

    def unreachable():
        raise DatabaseError("connection refused")

    monkeypatch.setattr(collector, "saga_states", unreachable)

    metrics = scrape()

    assert value(metrics, "metrics_database_up") == 0
    assert not any(name.startswith("sagas_") for name, _ in metrics)
    assert any(name.startswith("http_request_duration_seconds") for name, _ in metrics)


@pytest.mark.django_db(databases=["default", "read"])
def test_a_metrics_token_is_required_once_set(settings):
    settings.METRICS_TOKEN = "scrape-secret"
    client = Client()

    refused = client.get("/metrics")
    wrong = client.get("/metrics", HTTP_AUTHORIZATION="Bearer guess")
    allowed = client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-secret")

    assert refused.status_code == wrong.status_code == 401
    assert refused["WWW-Authenticate"] == "Bearer"
    assert allowed.status_code == 200


@pytest.mark.django_db(databases=["default", "read"])
def test_metrics_are_not_redirected_to_https(settings):
    settings.SECURE_SSL_REDIRECT = True

    assert Client().get("/metrics").status_code == 200
    assert Client().get("/api/schema/").status_code == 301


@pytest.mark.system
@pytest.mark.django_db(transaction=True, databases=["default", "read"])
def test_metrics_move_when_an_order_completes_on_a_real_worker(saga_processes):
    add_product("KB", price="10.00", stock=5)
    alice = register("alice")
    client = token_client(alice.user)
    before = scrape()

    response = client.post("/api/orders/", order_body([("KB", 1)]), format="json")
    wait_for_saga(response.json()["saga_id"], processes=saga_processes)
    # Read-model figures follow the saga once the projection runner has applied its events.
    wait_for(read_side.caught_up, timeout=30, what="projection to reach the head of the log")
    after = scrape()

    def moved(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("sagas_started_total", type="place_order") == 1
    assert moved("sagas_completed_total", type="place_order") == 1
    for step in ("reserve_stock", "charge_payment", "schedule_shipment", "confirm_order"):
        labels = {"saga_type": "place_order", "step": step, "direction": "FORWARD", "status": "SUCCEEDED"}
        assert moved("saga_step_duration_seconds_count", **labels) == 1, step
    assert moved("http_request_duration_seconds_count", method="POST", route="api/orders/", status="202") == 1
    assert moved("orders_in_status", status="CONFIRMED") == 1


@pytest.mark.system
@pytest.mark.django_db(transaction=True, databases=["default", "read"])
def test_gunicorn_workers_share_http_latencies_in_multiprocess_mode(tmp_path):
    """Requests spread over two workers; the scrape, answered by either, counts all of them."""
    port = free_port()
    web = start_web(child_env(PROMETHEUS_MULTIPROC_DIR=str(tmp_path)), port)
    try:
        wait_for(
            lambda: get(f"http://127.0.0.1:{port}/healthz") == 200,
            timeout=60,
            what="gunicorn to answer",
            processes=(web,),
        )
        # In parallel, so that both workers answer some.
        with ThreadPoolExecutor(max_workers=4) as pool:
            statuses = list(pool.map(lambda _: get(f"http://127.0.0.1:{port}/healthz"), range(20)))
        assert statuses == [200] * 20
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
            metrics = samples(response.read().decode())
    finally:
        web.stop()

    healthz = {"method": "GET", "route": "healthz", "status": "200"}
    assert value(metrics, "http_request_duration_seconds_count", **healthz) == 21
    assert value(metrics, "metrics_database_up") == 1
    assert len(list(tmp_path.glob("histogram_*.db"))) == 2, "one file per worker that answered"
