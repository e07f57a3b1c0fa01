import uuid

import pytest

from orders.sagas import CANCEL_ORDER, PLACE_ORDER, PlacedOrder
from sagas import engine
from sagas.models import Saga

from .sagas import order_to_fulfil

pytestmark = pytest.mark.django_db


@pytest.fixture
def sagas():
    placing = engine.saga_start(definition=PLACE_ORDER, subject_id=uuid.uuid4(), data=order_to_fulfil())
    cancelling = engine.saga_start(
        definition=CANCEL_ORDER, subject_id=uuid.uuid4(), data=PlacedOrder(uuid.uuid4())
    )
    return placing, cancelling


def test_staff_list_sagas_with_their_steps(staff_client, sagas):
    placing, _ = sagas

    response = staff_client.get("/api/sagas/")

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    listed = {saga["saga_id"]: saga for saga in body["results"]}
    saga = listed[str(placing.pk)]
    assert saga["type"] == "place_order"
    assert saga["state"] == "RUNNING"
    assert saga["order_id"] == str(placing.subject_id)
    assert saga["current_step"] == "reserve_stock"
    assert [(step["name"], step["status"], step["attempts"]) for step in saga["steps"]] == [
        ("place_order", "SUCCEEDED", 0),
        ("reserve_stock", "RUNNING", 1),
    ]
    assert set(saga["steps"][0]) >= {"name", "status", "attempts", "started_at", "finished_at", "error"}


@pytest.mark.parametrize(
    ("query", "expected"), [("type=cancel_order", 1), ("state=RUNNING", 2), ("state=FAILED", 0)]
)
def test_sagas_filter_by_type_and_state(staff_client, sagas, query, expected):
    response = staff_client.get(f"/api/sagas/?{query}")

    assert response.status_code == 200
    assert response.json()["count"] == expected


@pytest.mark.parametrize("query", ["state=BROKEN", "type=unknown_saga", "order_id=not-a-uuid"])
def test_unknown_filter_values_are_400(staff_client, sagas, query):
    response = staff_client.get(f"/api/sagas/?{query}")

    assert response.status_code == 400
    assert query.split("=")[0] in response.json()


def test_pages_are_capped_at_a_hundred(staff_client, sagas):
    Saga.objects.bulk_create(
        Saga(type="place_order", subject_id=uuid.uuid4(), state=Saga.State.COMPLETED) for _ in range(101)
    )

    response = staff_client.get("/api/sagas/?page_size=1000")

    assert response.status_code == 200
    assert response.json()["count"] == 103
    assert len(response.json()["results"]) == 100
    assert response.json()["next"] is not None


def test_detail_and_404(staff_client, sagas):
    placing, _ = sagas

    assert staff_client.get(f"/api/sagas/{placing.pk}/").json()["saga_id"] == str(placing.pk)
    assert staff_client.get(f"/api/sagas/{uuid.uuid4()}/").status_code == 404
    assert staff_client.post(f"/api/sagas/{uuid.uuid4()}/retry/").status_code == 404


def test_retrying_a_saga_that_has_not_failed_is_409(staff_client, sagas):
    placing, _ = sagas

    response = staff_client.post(f"/api/sagas/{placing.pk}/retry/")

    assert response.status_code == 409
    assert "FAILED" in response.json()["detail"]


def test_sagas_are_for_staff_only(customer_client, anonymous_client, sagas):
    placing, _ = sagas

    assert customer_client.get("/api/sagas/").status_code == 403
    assert customer_client.get(f"/api/sagas/{placing.pk}/").status_code == 403
    assert customer_client.post(f"/api/sagas/{placing.pk}/retry/").status_code == 403
    assert anonymous_client.get("/api/sagas/").status_code == 401
