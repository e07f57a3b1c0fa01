"""Query endpoints over the read models, filled through the write side."""

import threading
import time
import uuid

import pytest
from django.db import connections

from readmodels import wiring

from .conftest import token_client
from .readside import add_product, confirmed_order, projection_paused, register

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "read"])

ORDER_FIELDS = {
    "order_id",
    "customer_id",
    "status",
    "items",
    "total",
    "payment_status",
    "shipment_status",
    "tracking_number",
    "failure_reason",
    "saga",
    "created_at",
    "updated_at",
    "version",
}
# Authentication reads users, tokens and sessions from the write database; views must not.
AUTHENTICATION_TABLES = ("auth_user", "authtoken_token", "django_session")


@pytest.fixture
def world():
    add_product("KB", price="50.00", stock=5)
    add_product("MS", price="20.00", stock=0)
    alice, bob = register("alice"), register("bob")
    first = confirmed_order(alice, "KB", 2)
    second = confirmed_order(alice, "KB", 1)
    bobs = confirmed_order(bob, "KB", 1)
    return {"alice": alice, "bob": bob, "alice_orders": [first, second], "bob_order": bobs}


def test_products_come_from_the_read_model(world, staff_client):
    response = staff_client.get("/api/products/")

    assert response.status_code == 200
    assert response.json()["count"] == 2
    keyboard = staff_client.get("/api/products/KB/").json()
    assert keyboard == {
        "sku": "KB",
        "name": "Product KB",
        "price": "50.00",
        "on_hand": 5,
        "reserved": 4,
        "available": 1,
    }
    in_stock = staff_client.get("/api/products/?in_stock=true").json()["results"]
    assert [product["sku"] for product in in_stock] == ["KB"]
    assert staff_client.get("/api/products/?in_stock=maybe").status_code == 400
    assert staff_client.get("/api/products/NOPE/").status_code == 404


def test_any_customer_may_read_the_catalogue(world):
    client = token_client(world["bob"].user)

    assert client.get("/api/products/").status_code == 200
    assert client.get("/api/products/KB/").status_code == 200


def test_an_order_reads_as_the_contract_says(world):
    order = world["alice_orders"][0]
    client = token_client(world["alice"].user)

    body = client.get(f"/api/orders/{order.pk}/").json()

    assert set(body) == ORDER_FIELDS
    assert body["status"] == "CONFIRMED"
    assert body["total"] == "100.00"
    assert body["items"] == [
        {"sku": "KB", "name": "Product KB", "quantity": 2, "unit_price": "50.00", "line_total": "100.00"}
    ]
    assert (body["payment_status"], body["shipment_status"]) == ("CHARGED", "SCHEDULED")
    assert body["tracking_number"].startswith("TRK")
    assert body["failure_reason"] is None
    assert body["saga"] == {
        "saga_id": str(order.saga_id),
        "state": "RUNNING",
        "current_step": "reserve_stock",
    }
    assert body["version"] == 2


def test_customers_see_only_their_own_orders(world):
    alice, bob = token_client(world["alice"].user), token_client(world["bob"].user)
    bobs = world["bob_order"]

    listed = alice.get("/api/orders/").json()
    assert listed["count"] == 2
    assert {order["order_id"] for order in listed["results"]} == {str(o.pk) for o in world["alice_orders"]}
    assert alice.get(f"/api/orders/{bobs.pk}/").status_code == 404
    assert alice.get(f"/api/orders/{bobs.pk}/timeline/").status_code == 404
    assert alice.get(f"/api/customers/{world['bob'].pk}/summary/").status_code == 404
    assert alice.get(f"/api/orders/?customer={world['bob'].pk}").json()["count"] == 0
    assert bob.get(f"/api/orders/{bobs.pk}/").status_code == 200


def test_staff_list_every_order_newest_first_with_filters(world, staff_client):
    everything = staff_client.get("/api/orders/").json()
    alices = staff_client.get(f"/api/orders/?customer={world['alice'].pk}").json()
    confirmed = staff_client.get("/api/orders/?status=CONFIRMED&page_size=2").json()

    assert everything["count"] == 3
    created = [order["created_at"] for order in everything["results"]]
    assert created == sorted(created, reverse=True)
    assert everything["results"][0]["order_id"] == str(world["bob_order"].pk)
    assert alices["count"] == 2
    assert confirmed["count"] == 3
    assert len(confirmed["results"]) == 2
    assert confirmed["next"] is not None
    assert staff_client.get("/api/orders/?status=PENDING").json()["count"] == 0


@pytest.mark.parametrize("query", ["status=LOST", "customer=not-a-uuid"])
def test_unknown_filter_values_are_400(world, staff_client, query):
    response = staff_client.get(f"/api/orders/?{query}")

    assert response.status_code == 400
    assert query.split("=")[0] in response.json()


def test_the_timeline_lists_the_orders_events_oldest_first(world):
    order = world["alice_orders"][0]

    timeline = token_client(world["alice"].user).get(f"/api/orders/{order.pk}/timeline/").json()

    assert [entry["type"] for entry in timeline] == [
        "OrderPlaced",
        "StockReserved",
        "PaymentCharged",
        "ShipmentScheduled",
        "OrderConfirmed",
    ]
    positions = [entry["position"] for entry in timeline]
    assert positions == sorted(positions)
    assert set(timeline[0]) == {"position", "type", "occurred_at", "data"}


def test_a_customer_summary_counts_orders_and_money(world, staff_client):
    alice = world["alice"]

    mine = token_client(alice.user).get(f"/api/customers/{alice.pk}/summary/").json()

    assert mine == {
        "customer_id": str(alice.pk),
        "name": "Alice",
        "credit_limit": "500.00",
        "credit_available": "350.00",
        "orders_count": 2,
        "orders_by_status": {"CONFIRMED": 2},
        "total_spent": "150.00",
    }
    assert staff_client.get(f"/api/customers/{alice.pk}/summary/").json() == mine
    assert staff_client.get(f"/api/customers/{uuid.uuid4()}/summary/").status_code == 404


def test_queries_need_authentication(world, anonymous_client):
    for path in ("/api/products/", "/api/orders/", f"/api/customers/{world['alice'].pk}/summary/"):
        response = anonymous_client.get(path)
        assert response.status_code == 401, path


def test_query_endpoints_run_no_sql_on_the_write_database(world, staff_client):
    order = world["alice_orders"][0]
    paths = [
        "/api/products/",
        "/api/products/KB/",
        "/api/orders/",
        f"/api/orders/{order.pk}/",
        f"/api/orders/{order.pk}/timeline/",
        f"/api/customers/{world['alice'].pk}/summary/",
    ]
    write_side_queries = []

    def refuse_write_side(execute, sql, params, many, context):
        if not any(table in sql for table in AUTHENTICATION_TABLES):
            write_side_queries.append(sql)
            raise AssertionError(f"query endpoint touched the write database: {sql}")
        return execute(sql, params, many, context)

    customer = token_client(world["alice"].user)
    with connections["default"].execute_wrapper(refuse_write_side):
        for path in paths:
            assert staff_client.get(path, HTTP_X_MIN_EVENT_POSITION="1").status_code == 200, path
            assert customer.get(path).status_code == 200, path

    assert write_side_queries == []


@pytest.mark.parametrize("header", ["-1", "abc", "1.5", "9" * 19, ""])
def test_a_malformed_min_event_position_is_400(world, staff_client, header):
    response = staff_client.get("/api/orders/", HTTP_X_MIN_EVENT_POSITION=header)

    assert response.status_code == 400
    assert "X-Min-Event-Position" in response.json()


def test_a_position_the_projection_has_not_reached_is_503_with_retry_after(world, staff_client, settings):
    settings.READMODELS_CONSISTENCY_WAIT_SECONDS = 0.2
    with projection_paused():
        restock = staff_client.post("/api/products/MS/restock/", {"quantity": 3}, format="json")

    response = staff_client.get("/api/products/MS/", HTTP_X_MIN_EVENT_POSITION=restock["X-Event-Position"])

    assert response.status_code == 503
    assert int(response["Retry-After"]) >= 1


def test_a_position_past_the_head_of_the_log_is_400_at_once(world, staff_client, settings):
    settings.READMODELS_CONSISTENCY_WAIT_SECONDS = 5
    head = staff_client.post("/api/products/MS/restock/", {"quantity": 3}, format="json")["X-Event-Position"]

    started = time.monotonic()
    response = staff_client.get("/api/orders/", HTTP_X_MIN_EVENT_POSITION=str(int(head) + 1))

    assert response.status_code == 400
    assert "X-Min-Event-Position" in response.json()
    assert time.monotonic() - started < 1


def test_a_query_right_after_a_command_sees_the_command(world, staff_client):
    restock = staff_client.post("/api/products/MS/restock/", {"quantity": 7}, format="json")

    product = staff_client.get(
        "/api/products/MS/", HTTP_X_MIN_EVENT_POSITION=restock["X-Event-Position"]
    ).json()

    assert product["on_hand"] == 7


def test_a_query_waits_for_a_lagging_projection(world, staff_client):
    with projection_paused():
        restock = staff_client.post("/api/products/MS/restock/", {"quantity": 3}, format="json")
    assert staff_client.get("/api/products/MS/").json()["on_hand"] == 0, "projection is really behind"

    catch_up_later = threading.Timer(0.3, lambda: (wiring.catch_up(), connections.close_all()))
    catch_up_later.start()
    try:
        product = staff_client.get("/api/products/MS/", HTTP_X_MIN_EVENT_POSITION=restock["X-Event-Position"])
    finally:
        catch_up_later.join()

    assert product.status_code == 200
    assert product.json()["on_hand"] == 3
