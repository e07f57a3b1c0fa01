import json
from decimal import Decimal

import pytest

from eventlog.models import Event
from inventory.factories import ProductFactory
from inventory.models import Product, StockMovement
from inventory.services import product_create

pytestmark = pytest.mark.django_db

NEW_PRODUCT = {"sku": "KB-100", "name": "Keyboard", "price": "49.90", "stock": 7}


def state_counts():
    return Product.objects.count(), StockMovement.objects.count(), Event.objects.count()


def test_staff_creates_a_product_and_its_event(staff_client):
    response = staff_client.post("/api/products/", NEW_PRODUCT, format="json")

    assert response.status_code == 201
    assert response.json() == {
        "sku": "KB-100",
        "name": "Keyboard",
        "price": "49.90",
        "on_hand": 7,
        "reserved": 0,
        "available": 7,
    }
    event = Event.objects.get()
    assert (event.type, event.aggregate_id) == ("ProductAdded", "KB-100")
    assert event.data == {"sku": "KB-100", "name": "Keyboard", "price": "49.90", "on_hand": 7}
    assert response["X-Event-Position"] == str(event.position)


def test_unknown_fields_are_ignored(staff_client):
    response = staff_client.post("/api/products/", {**NEW_PRODUCT, "colour": "red"}, format="json")

    assert response.status_code == 201
    assert Product.objects.get().sku == "KB-100"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**NEW_PRODUCT, "price": "-1.00"}, "price"),
        ({**NEW_PRODUCT, "price": "0.00"}, "price"),
        ({**NEW_PRODUCT, "price": 0}, "price"),
        ({**NEW_PRODUCT, "price": "abc"}, "price"),
        ({**NEW_PRODUCT, "price": "1.999"}, "price"),
        ({**NEW_PRODUCT, "stock": -3}, "stock"),
        ({**NEW_PRODUCT, "stock": "many"}, "stock"),
        ({**NEW_PRODUCT, "sku": "has space"}, "sku"),
        ({**NEW_PRODUCT, "sku": ["KB"]}, "sku"),
        ({**NEW_PRODUCT, "name": {"nested": 1}}, "name"),
        ({key: value for key, value in NEW_PRODUCT.items() if key != "name"}, "name"),
    ],
)
def test_invalid_product_is_refused_with_field_errors(staff_client, body, field):
    before = state_counts()

    response = staff_client.post("/api/products/", body, format="json")

    assert response.status_code == 400
    assert field in response.json()
    assert "X-Event-Position" not in response
    assert state_counts() == before


def test_duplicate_sku_is_refused(staff_client):
    ProductFactory(sku="KB-100")
    before = state_counts()

    response = staff_client.post("/api/products/", NEW_PRODUCT, format="json")

    assert response.status_code == 400
    assert "sku" in response.json()
    assert state_counts() == before


def test_restock_adds_units_and_records_them(staff_client):
    ProductFactory(sku="KB-100", on_hand=3, reserved=1)

    response = staff_client.post("/api/products/KB-100/restock/", {"quantity": 5}, format="json")

    assert response.status_code == 200
    assert response.json()["on_hand"] == 8
    assert response.json()["available"] == 7
    movement = StockMovement.objects.get()
    assert (movement.kind, movement.quantity) == ("RESTOCKED", 5)
    event = Event.objects.get(type="StockRestocked")
    assert event.data == {"sku": "KB-100", "quantity": 5, "on_hand": 8, "reserved": 1}
    assert response["X-Event-Position"] == str(event.position)


@pytest.mark.parametrize("quantity", [0, -2, "five", None, 2.5, [], 10**12])
def test_restock_refuses_anything_but_a_positive_integer(staff_client, quantity):
    ProductFactory(sku="KB-100", on_hand=3)
    before = state_counts()

    response = staff_client.post("/api/products/KB-100/restock/", {"quantity": quantity}, format="json")

    assert response.status_code == 400
    assert "quantity" in response.json()
    assert state_counts() == before
    assert Product.objects.get().on_hand == 3


def test_a_restock_that_would_overflow_the_stock_is_refused_and_changes_nothing(staff_client):
    ProductFactory(sku="KB-100", on_hand=2_000_000_000)
    before = state_counts()

    response = staff_client.post("/api/products/KB-100/restock/", {"quantity": 200_000_000}, format="json")

    assert response.status_code == 400
    assert "at most 147483647 more fit" in response.json()["quantity"][0]
    assert state_counts() == before
    assert Product.objects.get().on_hand == 2_000_000_000


def test_restock_of_an_unknown_sku_is_404(staff_client):
    response = staff_client.post("/api/products/NOPE/restock/", {"quantity": 1}, format="json")

    assert response.status_code == 404


def test_customer_may_not_manage_products(customer_client):
    ProductFactory(sku="KB-100")
    before = state_counts()

    assert customer_client.post("/api/products/", NEW_PRODUCT, format="json").status_code == 403
    assert (
        customer_client.post("/api/products/KB-100/restock/", {"quantity": 1}, format="json").status_code
        == 403
    )
    assert state_counts() == before


def test_anonymous_request_is_401_with_a_challenge(anonymous_client):
    response = anonymous_client.post("/api/products/", NEW_PRODUCT, format="json")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_unknown_token_is_401(anonymous_client):
    anonymous_client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")

    assert anonymous_client.post("/api/products/", NEW_PRODUCT, format="json").status_code == 401


@pytest.mark.parametrize(
    ("payload", "content_type", "expected"),
    [
        ("[" * 100_000 + "]" * 100_000, "application/json", 400),
        ('{"sku": ', "application/json", 400),
        ("sku=KB-1", "application/x-www-form-urlencoded", 415),
        ("<xml/>", "application/xml", 415),
        (json.dumps({**NEW_PRODUCT, "name": "x" * 2_000_000}), "application/json", 413),
        ("[1, 2, 3]", "application/json", 400),
        ("null", "application/json", 400),
    ],
)
def test_malformed_bodies_never_answer_500(staff_client, payload, content_type, expected):
    before = state_counts()

    response = staff_client.generic("POST", "/api/products/", payload, content_type=content_type)

    assert response.status_code == expected
    assert state_counts() == before


def test_a_free_product_is_refused_with_the_reason(staff_client):
    response = staff_client.post("/api/products/", {**NEW_PRODUCT, "price": "0.00"}, format="json")

    assert response.status_code == 400
    assert response.json() == {"price": ["A price must be at least 0.01: every order is charged its total."]}


def test_the_service_refuses_a_free_product_too():
    with pytest.raises(ValueError, match=r"at least 0\.01"):
        product_create(sku="FREE", name="Free", price=Decimal("0.00"), stock=1)

    assert not Product.objects.filter(sku="FREE").exists()
