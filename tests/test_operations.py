import re

import pytest
from celery import Celery
from django.core.management import call_command
from django.utils import timezone

from ops.models import WorkerHeartbeat
from readmodels.models import ProjectorCheckpoint
from readmodels.wiring import PROJECTOR_NAMES

pytestmark = pytest.mark.django_db(databases=["default", "read"])


def test_healthz_reports_databases_broker_workers_and_projection(anonymous_client):
    WorkerHeartbeat.objects.create(hostname="celery@test", last_seen_at=timezone.now())
    ProjectorCheckpoint.objects.create(projector="product_availability", position=0)

    response = anonymous_client.get("/healthz")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"]["ok"]
    assert body["read_database"]["ok"]
    assert body["broker"]["ok"]
    assert body["workers"] == {"ok": True, "alive": ["celery@test"]}
    assert body["projection"]["projectors"]["product_availability"]["events_behind"] == 0
    assert set(body["projection"]["projectors"]) == set(PROJECTOR_NAMES)


def test_healthz_is_503_when_the_broker_is_down(anonymous_client, monkeypatch):
    # Celery lets CELERY_BROKER_URL in the environment win over the broker argument.
    monkeypatch.setenv("CELERY_BROKER_URL", "redis://127.0.0.1:9/0")
    unreachable_broker = Celery("unreachable", broker="redis://127.0.0.1:9/0", set_as_current=False)
    monkeypatch.setattr("ops.views.celery_app", unreachable_broker)

    response = anonymous_client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["broker"]["ok"] is False
    assert response.json()["status"] == "unavailable"


def test_healthz_does_not_count_stale_heartbeats(anonymous_client):
    WorkerHeartbeat.objects.create(
        hostname="celery@old", last_seen_at=timezone.now() - timezone.timedelta(hours=1)
    )

    assert anonymous_client.get("/healthz").json()["workers"] == {"ok": False, "alive": []}


def test_schema_is_valid_without_warnings():
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", "/dev/null")


def test_schema_documents_the_operations_of_this_api(anonymous_client):
    schema = anonymous_client.get("/api/schema/", HTTP_ACCEPT="application/json").json()

    operations = {(path, method) for path, item in schema["paths"].items() for method in item}
    assert {
        ("/api/auth/token/", "post"),
        ("/api/customers/", "post"),
        ("/api/products/", "post"),
        ("/api/products/{sku}/restock/", "post"),
    } <= operations
    assert schema["paths"]["/api/auth/token/"]["post"].get("security") in ([], [{}])
    assert {
        ("/api/orders/", "get"),
        ("/api/orders/", "post"),
        ("/api/orders/{order_id}/", "get"),
        ("/api/orders/{order_id}/timeline/", "get"),
        ("/api/products/", "get"),
        ("/api/products/{sku}/", "get"),
        ("/api/customers/{customer_id}/summary/", "get"),
        ("/api/orders/{order_id}/cancel/", "post"),
        ("/api/shipments/{order_id}/dispatch/", "post"),
        ("/api/sagas/", "get"),
        ("/api/sagas/{saga_id}/retry/", "post"),
    } <= operations
    order_list = {parameter["name"] for parameter in schema["paths"]["/api/orders/"]["get"]["parameters"]}
    assert {"status", "customer", "page", "page_size", "X-Min-Event-Position"} <= order_list
    place = schema["paths"]["/api/orders/"]["post"]
    assert "202" in place["responses"]
    assert "Idempotency-Key" in {parameter["name"] for parameter in place["parameters"]}


@pytest.mark.parametrize("page", ["/api/docs/", "/api/redoc/"])
def test_docs_pages_load_every_asset_from_the_application(anonymous_client, page):
    response = anonymous_client.get(page)

    assert response.status_code == 200
    html = response.content.decode()
    assert "googleapis" not in html
    assert "cdn.jsdelivr" not in html
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert assets, "the page should reference its script and style assets"
    for asset in assets:
        assert asset.startswith("/"), f"{asset} is not served by the application"
        assert anonymous_client.get(asset).status_code == 200, asset


def test_favicon_is_served_locally(anonymous_client):
    response = anonymous_client.get("/favicon.ico", follow=True)

    assert response.status_code == 200
    assert response.redirect_chain[-1][0].startswith("/static/")


def test_worker_ping_is_staff_only_and_queued_on_commit(
    staff_client, customer_client, django_capture_on_commit_callbacks
):
    assert customer_client.post("/api/ops/worker-pings/").status_code == 403

    with django_capture_on_commit_callbacks() as callbacks:
        response = staff_client.post("/api/ops/worker-pings/")

    assert response.status_code == 202
    assert len(callbacks) == 1, "the task is sent only once the request's transaction commits"
