"""Who may do what: every endpoint for anonymous, customer A, customer B and staff, with the
codes of API.md. A owns the order and the customer summary; B is another customer."""

import pytest
from rest_framework.test import APIClient

from orders.services import order_place
from readmodels.models import OrderSummary
from sagas.models import Saga

from .conftest import token_client
from .readside import ADDRESS, add_product, register

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "read"])

ROLES = ("anonymous", "a", "b", "staff")
# (method, path, {role: status}); commands get an empty body, so an allowed one answers 400
# (or 409 for a state it does not accept) and nothing changes.
MATRIX = [
    ("GET", "/healthz", dict(anonymous=200, a=200, b=200, staff=200)),
    ("GET", "/api/schema/", dict(anonymous=200, a=200, b=200, staff=200)),
    ("GET", "/api/docs/", dict(anonymous=200, a=200, b=200, staff=200)),
    ("GET", "/api/redoc/", dict(anonymous=200, a=200, b=200, staff=200)),
    ("POST", "/api/customers/", dict(anonymous=401, a=403, b=403, staff=400)),
    ("POST", "/api/products/", dict(anonymous=401, a=403, b=403, staff=400)),
    ("POST", "/api/products/KB/restock/", dict(anonymous=401, a=403, b=403, staff=400)),
    ("GET", "/api/products/", dict(anonymous=401, a=200, b=200, staff=200)),
    ("GET", "/api/products/KB/", dict(anonymous=401, a=200, b=200, staff=200)),
    ("POST", "/api/orders/", dict(anonymous=401, a=400, b=400, staff=400)),
    ("GET", "/api/orders/", dict(anonymous=401, a=200, b=200, staff=200)),
    ("GET", "/api/orders/{order}/", dict(anonymous=401, a=200, b=404, staff=200)),
    ("GET", "/api/orders/{order}/timeline/", dict(anonymous=401, a=200, b=404, staff=200)),
    ("POST", "/api/orders/{order}/cancel/", dict(anonymous=401, a=409, b=404, staff=409)),
    ("POST", "/api/shipments/{order}/dispatch/", dict(anonymous=401, a=403, b=403, staff=409)),
    ("GET", "/api/customers/{customer}/summary/", dict(anonymous=401, a=200, b=404, staff=200)),
    ("GET", "/api/sagas/", dict(anonymous=401, a=403, b=403, staff=200)),
    ("GET", "/api/sagas/{saga}/", dict(anonymous=401, a=403, b=403, staff=200)),
    ("POST", "/api/sagas/{saga}/retry/", dict(anonymous=401, a=403, b=403, staff=409)),
    ("POST", "/api/ops/worker-pings/", dict(anonymous=401, a=403, b=403, staff=202)),
]


@pytest.fixture
def world(staff_user):
    add_product("KB", stock=5)
    alice, bob = register("alice"), register("bob")
    order = order_place(customer_id=alice.pk, items=[{"sku": "KB", "quantity": 1}], address=ADDRESS)
    return {
        "clients": {
            "anonymous": APIClient(),
            "a": token_client(alice.user),
            "b": token_client(bob.user),
            "staff": token_client(staff_user),
        },
        "ids": {"order": order.pk, "customer": alice.pk, "saga": order.saga_id},
    }


def test_every_endpoint_answers_each_role_as_the_contract_says(world):
    orders_before = OrderSummary.objects.count()
    sagas_before = Saga.objects.count()
    mismatches = []

    for method, template, expected in MATRIX:
        path = template.format(**world["ids"])
        for role in ROLES:
            client = world["clients"][role]
            response = client.post(path, {}, format="json") if method == "POST" else client.get(path)
            if response.status_code != expected[role]:
                mismatches.append(
                    f"{method} {path} as {role}: {response.status_code}, expected {expected[role]}"
                )

    assert mismatches == []
    assert OrderSummary.objects.count() == orders_before
    assert Saga.objects.count() == sagas_before


def test_unauthenticated_answers_invite_token_authentication(world):
    response = world["clients"]["anonymous"].get("/api/orders/")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
