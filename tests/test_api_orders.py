"""Order commands over HTTP: validation, access, Idempotency-Key. Nothing here needs a worker:
the saga's first command waits in the broker, and every refusal must leave no trace."""

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.db import connections

from eventlog.models import Event
from inventory.services import product_create
from orders.models import IdempotencyRecord, Order
from payments.factories import CustomerFactory
from payments.services import customer_register
from sagas.models import Saga

from .conftest import token_client
from .sagas import assert_invariants, order_body, wait_until_settled


@pytest.fixture
def keyboard(db):
    return product_create(sku="KB", name="Keyboard", price=Decimal("50.00"), stock=10)


def traces():
    return (
        Order.objects.count(),
        Saga.objects.count(),
        Event.objects.count(),
        IdempotencyRecord.objects.count(),
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "field"),
    [
        (order_body([("NOPE", 1)]), "items"),
        (order_body([("KB", 0)]), "items"),
        (order_body([("KB", -1)]), "items"),
        (order_body([("KB", "two")]), "items"),
        (order_body([]), "items"),
        ({"items": "KB", "shipping_address": order_body([])["shipping_address"]}, "items"),
        ({"items": [{"sku": "KB", "quantity": 1}]}, "shipping_address"),
        (order_body([("KB", 1)], country="fr"), "shipping_address"),
        (order_body([("KB", 1)], country="FRA"), "shipping_address"),
        ({**order_body([("KB", 1)]), "shipping_address": {"name": "A"}}, "shipping_address"),
        ({**order_body([("KB", 1)]), "shipping_address": ["not", "an", "object"]}, "shipping_address"),
    ],
)
def test_invalid_orders_are_refused_and_start_nothing(customer_client, keyboard, body, field):
    before = traces()

    response = customer_client.post("/api/orders/", body, format="json")

    assert response.status_code == 400
    assert field in response.json()
    assert traces() == before


@pytest.mark.django_db
def test_a_customer_cannot_order_for_another_customer(customer_client, keyboard):
    other = CustomerFactory()
    before = traces()

    response = customer_client.post(
        "/api/orders/", order_body([("KB", 1)], customer_id=other.pk), format="json"
    )

    assert response.status_code == 403
    assert traces() == before


@pytest.mark.django_db
def test_a_customer_may_name_itself(customer, customer_client, keyboard):
    response = customer_client.post(
        "/api/orders/", order_body([("KB", 1)], customer_id=customer.pk), format="json"
    )

    assert response.status_code == 202
    assert Order.objects.get().customer_id == customer.pk


@pytest.mark.django_db
def test_staff_orders_for_a_named_existing_customer(staff_client, keyboard):
    customer = CustomerFactory()
    before = traces()

    missing = staff_client.post("/api/orders/", order_body([("KB", 1)]), format="json")
    unknown = staff_client.post(
        "/api/orders/", order_body([("KB", 1)], customer_id=uuid.uuid4()), format="json"
    )
    assert missing.status_code == unknown.status_code == 400
    assert "customer_id" in missing.json()
    assert "customer_id" in unknown.json()
    assert traces() == before

    placed = staff_client.post(
        "/api/orders/", order_body([("KB", 2)], customer_id=customer.pk), format="json"
    )
    assert placed.status_code == 202
    order = Order.objects.get()
    assert (order.customer_id, order.total, order.status) == (customer.pk, Decimal("100.00"), "PENDING")
    assert Saga.objects.get().pk == order.saga_id


@pytest.mark.django_db
def test_a_user_who_is_not_a_customer_cannot_order(client, keyboard):
    from payments.factories import UserFactory

    response = token_client(UserFactory()).post("/api/orders/", order_body([("KB", 1)]), format="json")

    assert response.status_code == 403


@pytest.mark.django_db
def test_anonymous_cannot_order(anonymous_client, keyboard):
    assert anonymous_client.post("/api/orders/", order_body([("KB", 1)]), format="json").status_code == 401


@pytest.mark.django_db
def test_the_same_sku_twice_becomes_one_line(customer_client, keyboard):
    response = customer_client.post("/api/orders/", order_body([("KB", 1), ("KB", 2)]), format="json")

    assert response.status_code == 202
    line = Order.objects.get().lines.get()
    assert (line.sku, line.quantity, line.unit_price, line.name) == ("KB", 3, Decimal("50.00"), "Keyboard")


@pytest.mark.django_db
def test_an_idempotency_key_replays_the_first_answer(customer_client, keyboard):
    body = order_body([("KB", 1)])

    first = customer_client.post("/api/orders/", body, format="json", HTTP_IDEMPOTENCY_KEY="order-1")
    again = customer_client.post("/api/orders/", body, format="json", HTTP_IDEMPOTENCY_KEY="order-1")

    assert first.status_code == again.status_code == 202
    assert first.json() == again.json()
    assert first["Location"] == again["Location"]
    assert first["X-Event-Position"] == again["X-Event-Position"]
    assert Order.objects.count() == 1


@pytest.mark.django_db
def test_an_idempotency_key_reused_for_another_body_is_422(customer_client, keyboard):
    customer_client.post(
        "/api/orders/", order_body([("KB", 1)]), format="json", HTTP_IDEMPOTENCY_KEY="order-1"
    )
    before = traces()

    response = customer_client.post(
        "/api/orders/", order_body([("KB", 2)]), format="json", HTTP_IDEMPOTENCY_KEY="order-1"
    )

    assert response.status_code == 422
    assert traces() == before


@pytest.mark.django_db
def test_keys_belong_to_their_user(keyboard):
    alice, bob = token_client(CustomerFactory().user), token_client(CustomerFactory().user)

    first = alice.post("/api/orders/", order_body([("KB", 1)]), format="json", HTTP_IDEMPOTENCY_KEY="k")
    second = bob.post("/api/orders/", order_body([("KB", 1)]), format="json", HTTP_IDEMPOTENCY_KEY="k")

    assert first.status_code == second.status_code == 202
    assert first.json()["order_id"] != second.json()["order_id"]


@pytest.mark.django_db
def test_an_overlong_idempotency_key_is_refused(customer_client, keyboard):
    before = traces()

    response = customer_client.post(
        "/api/orders/", order_body([("KB", 1)]), format="json", HTTP_IDEMPOTENCY_KEY="k" * 256
    )

    assert response.status_code == 400
    assert traces() == before


@pytest.mark.system
@pytest.mark.django_db(transaction=True, databases=["default", "read"])
def test_concurrent_requests_with_one_key_create_one_order(saga_processes, keyboard):
    customer = customer_register(
        username="carol",
        password="pw-carol-123",
        email="c@example.com",
        name="Carol",
        credit_limit=Decimal("500"),
    )
    body = order_body([("KB", 1)])
    start = threading.Barrier(20)

    def send(_):
        try:
            client = token_client(customer.user)
            start.wait(timeout=30)
            response = client.post("/api/orders/", body, format="json", HTTP_IDEMPOTENCY_KEY="one-order")
            return response.status_code, response.json()
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(send, range(20)))

    assert Order.objects.count() == 1
    order_id = str(Order.objects.get().pk)
    for status_code, body_received in answers:
        assert status_code in (202, 409)
        if status_code == 202:
            assert body_received["order_id"] == order_id
    assert sum(1 for status_code, _ in answers if status_code == 202) >= 1
    assert Saga.objects.count() == 1
    wait_until_settled(processes=saga_processes)
    assert Order.objects.get().status == Order.Status.CONFIRMED
    assert_invariants()
