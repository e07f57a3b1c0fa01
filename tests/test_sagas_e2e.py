"""The order sagas end to end: commands through the HTTP API, steps on a real Celery worker,
lost messages healed by a real beat-driven sweeper. After each scenario the invariants hold."""

import json
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import connections, transaction
from django.db.models import Sum

from eventlog.models import Event
from inventory.models import Product, StockReservation
from inventory.services import product_create
from orders.models import Order, OrderLine
from orders.services import order_place
from payments.models import Charge, Customer, Refund
from payments.services import customer_register
from sagas.failpoints import LATE_COPY_DELAY
from sagas.models import Direction, Failpoint, Saga, SagaStep, StepReceipt
from shipping.models import Shipment

from .conftest import token_client
from .processes import child_env, start_worker, wait_for
from .sagas import (
    ADDRESS,
    Rescues,
    assert_invariants,
    assert_nothing_rescued,
    order_body,
    participant_tasks,
    rescues,
    wait_for_order,
    wait_for_saga,
    wait_until_settled,
)

pytestmark = [pytest.mark.system, pytest.mark.django_db(transaction=True, databases=["default", "read"])]

PARTICIPANT_TASKS = participant_tasks()
# Tests that lose a message on purpose wait for the sweeper to notice it; a short deadline keeps
# them quick, and is still many times longer than a step takes.
LOST_MESSAGE_DEADLINE_SECONDS = 2


@pytest.fixture
def shop():
    product_create(sku="KB", name="Keyboard", price=Decimal("50.00"), stock=10)
    product_create(sku="MS", name="Mouse", price=Decimal("20.00"), stock=10)


@pytest.fixture
def alice():
    return customer_register(
        username="alice",
        password="pw-alice-123",
        email="a@example.com",
        name="Alice",
        credit_limit=Decimal("500.00"),
    )


@pytest.fixture
def alice_client(alice):
    return token_client(alice.user)


def place(client, items, **options):
    response = client.post("/api/orders/", order_body(items, **options), format="json")
    assert response.status_code == 202, response.content
    return response


def order_events(order_id) -> list[str]:
    """The domain events that followed the order, whichever aggregate each belongs to."""
    return list(
        Event.objects.filter(correlation_id=order_id)
        .exclude(aggregate_type="saga")
        .order_by("position")
        .values_list("type", flat=True)
    )


def compensations(saga) -> list[str]:
    return list(
        SagaStep.objects.filter(saga=saga, direction=Direction.COMPENSATION)
        .order_by("started_at", "id")
        .values_list("name", flat=True)
    )


@pytest.mark.parametrize("saga_processes", ["co-located", "remote"], indirect=True)
def test_an_order_is_confirmed_with_stock_reserved_and_credit_charged(
    saga_processes, shop, alice, alice_client
):
    response = place(alice_client, [("KB", 2), ("MS", 1)])

    body = response.json()
    assert body["status"] == "PENDING"
    assert response["Location"] == body["status_url"] == f"/api/orders/{body['order_id']}/"
    assert int(response["X-Event-Position"]) > 0
    saga = wait_for_saga(body["saga_id"], processes=saga_processes)
    assert saga.state == Saga.State.COMPLETED
    order = Order.objects.get(pk=body["order_id"])
    assert order.status == Order.Status.CONFIRMED
    assert order.total == Decimal("120.00")
    assert Product.objects.get(sku="KB").reserved == 2
    assert Product.objects.get(sku="KB").on_hand == 10
    assert Customer.objects.get(pk=alice.pk).credit_available == Decimal("380.00")
    assert Charge.objects.get(order_id=order.pk).amount == Decimal("120.00")
    assert Shipment.objects.get(order_id=order.pk).status == Shipment.Status.SCHEDULED
    assert order_events(order.pk) == [
        "OrderPlaced",
        "StockReserved",
        "PaymentCharged",
        "ShipmentScheduled",
        "OrderConfirmed",
    ]
    assert_invariants()
    assert_nothing_rescued()


def worker_backends() -> set[tuple[int, object]]:
    """Connections to the test database other than this test's own, as (pid, connected at)."""
    with connections["default"].cursor() as cursor:
        cursor.execute(
            "SELECT pid, backend_start FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return set(cursor.fetchall())


@pytest.mark.postgres
def test_a_worker_keeps_its_database_connections_from_one_saga_to_the_next(
    saga_processes, shop, alice, alice_client
):
    first = place(alice_client, [("KB", 1)]).json()
    wait_for_saga(first["saga_id"], processes=saga_processes)
    after_first = worker_backends()
    second = place(alice_client, [("MS", 1)]).json()
    wait_for_saga(second["saga_id"], processes=saga_processes)

    # Without CELERY_DB_REUSE_MAX, Celery's Django fixup closes every one after its task.
    assert after_first
    assert after_first & worker_backends()


def test_out_of_stock_rejects_the_order_and_touches_nothing(saga_processes, shop, alice, alice_client):
    body = place(alice_client, [("MS", 1), ("KB", 11)]).json()

    saga = wait_for_saga(body["saga_id"], processes=saga_processes)
    order = Order.objects.get(pk=body["order_id"])
    assert saga.state == Saga.State.COMPENSATED
    assert order.status == Order.Status.REJECTED
    assert order.failure_reason.startswith("OUT_OF_STOCK")
    assert "KB" in order.failure_reason
    assert compensations(saga) == ["reject_order"]
    assert Product.objects.get(sku="MS").reserved == 0
    assert not Charge.objects.exists()
    assert Customer.objects.get(pk=alice.pk).credit_available == Decimal("500.00")
    assert_invariants()
    assert_nothing_rescued()


def test_declined_payment_releases_the_stock(saga_processes, shop):
    bob = customer_register(
        username="bob",
        password="pw-bob-12345",
        email="b@example.com",
        name="Bob",
        credit_limit=Decimal("100.00"),
    )

    body = place(token_client(bob.user), [("KB", 3)]).json()

    saga = wait_for_saga(body["saga_id"], processes=saga_processes)
    order = Order.objects.get(pk=body["order_id"])
    assert saga.state == Saga.State.COMPENSATED
    assert order.status == Order.Status.REJECTED
    assert order.failure_reason.startswith("PAYMENT_DECLINED")
    assert compensations(saga) == ["release_stock", "reject_order"]
    assert StockReservation.objects.get(order_id=order.pk).status == StockReservation.Status.RELEASED
    assert Product.objects.get(sku="KB").reserved == 0
    assert Customer.objects.get(pk=bob.pk).credit_available == Decimal("100.00")
    assert_invariants()
    assert_nothing_rescued()


@pytest.mark.parametrize("saga_processes", ["co-located", "remote"], indirect=True)
def test_undeliverable_refunds_then_releases_newest_first(saga_processes, shop, alice, alice_client):
    body = place(alice_client, [("KB", 1)], country="XX").json()

    saga = wait_for_saga(body["saga_id"], processes=saga_processes)
    order = Order.objects.get(pk=body["order_id"])
    assert saga.state == Saga.State.COMPENSATED
    assert order.status == Order.Status.REJECTED
    assert order.failure_reason.startswith("UNDELIVERABLE")
    assert compensations(saga) == ["refund_payment", "release_stock", "reject_order"]
    assert order_events(order.pk) == [
        "OrderPlaced",
        "StockReserved",
        "PaymentCharged",
        "ShipmentFailed",
        "PaymentRefunded",
        "StockReleased",
        "OrderRejected",
    ]
    assert Refund.objects.get().amount == Decimal("50.00")
    assert Customer.objects.get(pk=alice.pk).credit_available == Decimal("500.00")
    assert Product.objects.get(sku="KB").reserved == 0
    assert_invariants()
    assert_nothing_rescued()


def test_a_confirmed_order_is_cancelled_and_everything_given_back(saga_processes, shop, alice, alice_client):
    body = place(alice_client, [("KB", 2)]).json()
    wait_for_order(body["order_id"], Order.Status.CONFIRMED, processes=saga_processes)

    response = alice_client.post(f"/api/orders/{body['order_id']}/cancel/")

    assert response.status_code == 202
    assert response.json()["status"] == "CANCELLING"
    cancel_saga = wait_for_saga(response.json()["saga_id"], processes=saga_processes)
    assert cancel_saga.type == "cancel_order"
    assert cancel_saga.state == Saga.State.COMPLETED
    assert Order.objects.get(pk=body["order_id"]).status == Order.Status.CANCELLED
    assert Shipment.objects.get(order_id=body["order_id"]).status == Shipment.Status.CANCELLED
    assert Product.objects.get(sku="KB").reserved == 0
    assert Customer.objects.get(pk=alice.pk).credit_available == Decimal("500.00")
    assert order_events(body["order_id"])[-5:] == [
        "OrderCancellationRequested",
        "ShipmentCancelled",
        "PaymentRefunded",
        "StockReleased",
        "OrderCancelled",
    ]
    assert alice_client.post(f"/api/orders/{body['order_id']}/cancel/").status_code == 409
    assert_invariants()
    assert_nothing_rescued()


def test_dispatch_ships_the_stock_and_refuses_a_second_dispatch_or_a_cancel(
    saga_processes, shop, alice_client, staff_client
):
    body = place(alice_client, [("KB", 2)]).json()
    wait_for_order(body["order_id"], Order.Status.CONFIRMED, processes=saga_processes)

    response = staff_client.post(f"/api/shipments/{body['order_id']}/dispatch/")

    assert response.status_code == 202
    assert response.json()["status"] == "SHIPPED"
    dispatch_saga = wait_for_saga(response.json()["saga_id"], processes=saga_processes)
    assert dispatch_saga.state == Saga.State.COMPLETED
    keyboard = Product.objects.get(sku="KB")
    assert (keyboard.on_hand, keyboard.reserved) == (8, 0)
    assert Shipment.objects.get(order_id=body["order_id"]).status == Shipment.Status.DISPATCHED
    assert Order.objects.get(pk=body["order_id"]).status == Order.Status.SHIPPED

    second = staff_client.post(f"/api/shipments/{body['order_id']}/dispatch/")
    cancel = alice_client.post(f"/api/orders/{body['order_id']}/cancel/")
    assert second.status_code == cancel.status_code == 409
    assert "dispatched" in cancel.json()["detail"]
    assert_invariants()
    assert_nothing_rescued()


def task_runs(worker, task: str, saga_id: str) -> list[str]:
    """When ``task`` finished for ``saga_id``, from the worker's log, in order."""
    finished = []
    for line in worker.output().splitlines():
        if not line.startswith("{"):
            continue
        entry = json.loads(line)
        if (
            entry.get("logger") == "celery.app.trace"
            and entry.get("task") == task
            and entry.get("saga_id") == saga_id
            and "succeeded in" in entry["message"]
        ):
            finished.append(entry["time"])
    return finished


@pytest.mark.failpoints
@pytest.mark.parametrize("saga_processes", ["co-located", "remote"], indirect=True)
def test_copies_that_arrive_after_the_saga_compensated_change_nothing(
    request, saga_processes, shop, alice, alice_client
):
    remote = request.node.callspec.params["saga_processes"] == "remote"
    late = ["inventory.reserve_stock", "payments.charge_payment", *(["sagas.record_reply"] if remote else [])]
    for task in late:
        Failpoint.objects.create(task=task, action=Failpoint.Action.LATE_COPY, remaining=1)

    body = place(alice_client, [("KB", 1)], country="XX").json()
    saga = wait_for_saga(body["saga_id"], processes=saga_processes)
    assert saga.state == Saga.State.COMPENSATED
    worker = saga_processes[0]
    for task in late:
        wait_for(
            lambda task=task: len(task_runs(worker, task, body["saga_id"])) >= 2,
            timeout=LATE_COPY_DELAY + 30,
            what=f"the late copy of {task} to run",
            processes=saga_processes,
        )

    released = task_runs(worker, "inventory.release_stock", body["saga_id"])
    assert task_runs(worker, "inventory.reserve_stock", body["saga_id"])[1] > released[-1], (
        "the copy came late"
    )
    assert Failpoint.objects.filter(fired=1).count() == len(late)
    order = Order.objects.get(pk=body["order_id"])
    assert order.status == Order.Status.REJECTED
    assert order.failure_reason.startswith("UNDELIVERABLE")
    assert StockReservation.objects.get(order_id=order.pk).status == StockReservation.Status.RELEASED
    assert (Product.objects.get(sku="KB").on_hand, Product.objects.get(sku="KB").reserved) == (10, 0)
    assert Charge.objects.get(order_id=order.pk).refund.amount == Decimal("50.00")
    assert Customer.objects.get(pk=alice.pk).credit_available == Decimal("500.00")
    assert order_events(order.pk).count("StockReserved") == 1
    assert order_events(order.pk).count("PaymentCharged") == 1
    assert Saga.objects.get(pk=saga.pk).state == Saga.State.COMPENSATED
    assert_invariants()
    assert_nothing_rescued()  # the stale answers were ignored, not recorded as attempts


def test_a_command_whose_transaction_rolls_back_never_reaches_the_worker(
    saga_processes, shop, alice, alice_client
):
    placed = []

    def place_then_give_up():
        with transaction.atomic():
            placed.append(
                order_place(
                    customer_id=alice.pk,
                    items=[{"sku": "KB", "quantity": 1}],
                    address={**ADDRESS, "country": "GB"},
                )
            )
            raise RuntimeError("given up before commit")

    with pytest.raises(RuntimeError, match="given up"):
        place_then_give_up()
    abandoned = placed[0]
    # Sent after it on the same queues: once this saga has ended, the worker has long taken
    # anything that was sent before.
    barrier = place(alice_client, [("MS", 1)]).json()
    wait_for_saga(barrier["saga_id"], processes=saga_processes)

    assert not Order.objects.filter(pk=abandoned.pk).exists()
    assert not Saga.objects.filter(pk=abandoned.saga_id).exists()
    assert not StepReceipt.objects.filter(saga_id=abandoned.saga_id).exists()
    assert Product.objects.get(sku="KB").reserved == 0
    worker = saga_processes[0]
    assert barrier["saga_id"] in worker.output(), "the worker logs the sagas it serves"
    assert str(abandoned.saga_id) not in worker.output(), "the worker received a command that never committed"
    assert_invariants()


@pytest.mark.failpoints
@pytest.mark.step_deadline(LOST_MESSAGE_DEADLINE_SECONDS)
def test_a_pending_order_takes_no_other_command_and_a_lost_command_is_sent_again(
    saga_processes, shop, alice_client, staff_client
):
    Failpoint.objects.create(task="inventory.reserve_stock", action=Failpoint.Action.DROP, remaining=1)

    body = place(alice_client, [("KB", 1)]).json()

    assert Order.objects.get(pk=body["order_id"]).status == Order.Status.PENDING
    cancel = alice_client.post(f"/api/orders/{body['order_id']}/cancel/")
    dispatch = staff_client.post(f"/api/shipments/{body['order_id']}/dispatch/")
    assert cancel.status_code == dispatch.status_code == 409
    assert "still being placed" in cancel.json()["detail"]
    saga = wait_for_saga(body["saga_id"], processes=saga_processes)
    assert saga.state == Saga.State.COMPLETED
    assert Failpoint.objects.get().fired == 1
    reserve = SagaStep.objects.get(saga=saga, name="reserve_stock")
    assert reserve.attempts == 2, "the sweeper re-sent the dropped command once"
    assert reserve.history[0]["outcome"] == "TIMED_OUT"
    assert rescues() == Rescues(resent=1, timed_out=1)
    assert_invariants()


@pytest.mark.failpoints
@pytest.mark.step_deadline(LOST_MESSAGE_DEADLINE_SECONDS)
def test_a_regression_that_drops_every_first_send_still_ends_the_saga_but_is_noticed(
    saga_processes, shop, alice, alice_client
):
    forward_steps = (
        "inventory.reserve_stock",
        "payments.charge_payment",
        "shipping.schedule_shipment",
        "orders.confirm_order",
    )
    for task in forward_steps:
        Failpoint.objects.create(task=task, action=Failpoint.Action.DROP, remaining=1)

    body = place(alice_client, [("KB", 1)]).json()

    saga = wait_for_saga(body["saga_id"], processes=saga_processes, timeout=90)
    assert saga.state == Saga.State.COMPLETED, "the sweeper heals it: an end-state check alone passes"
    assert rescues() == Rescues(resent=len(forward_steps), timed_out=len(forward_steps))
    with pytest.raises(AssertionError, match="needed rescuing"):
        assert_nothing_rescued()
    assert_invariants()


@pytest.mark.failpoints
@pytest.mark.step_deadline(LOST_MESSAGE_DEADLINE_SECONDS)
@pytest.mark.parametrize("saga_processes", ["remote"], indirect=True)
def test_a_lost_reply_is_recovered_from_the_participants_receipt(saga_processes, shop, alice, alice_client):
    Failpoint.objects.create(task="sagas.record_reply", action=Failpoint.Action.DROP, remaining=1)

    body = place(alice_client, [("KB", 1)]).json()

    saga = wait_for_saga(body["saga_id"], processes=saga_processes)
    assert saga.state == Saga.State.COMPLETED
    lost = SagaStep.objects.get(saga=saga, name="reserve_stock")
    assert lost.attempts == 2
    assert Product.objects.get(sku="KB").reserved == 1, "the second delivery reserved nothing more"
    assert order_events(body["order_id"]).count("StockReserved") == 1
    assert rescues() == Rescues(resent=1, timed_out=1)
    assert_invariants()


@pytest.mark.failpoints
@pytest.mark.parametrize("saga_processes", ["co-located", "remote"], indirect=True)
def test_every_command_and_reply_delivered_twice_changes_state_once(
    saga_processes, shop, alice, alice_client, staff_client
):
    for task in (*PARTICIPANT_TASKS, "sagas.record_reply"):
        Failpoint.objects.create(task=task, action=Failpoint.Action.DUPLICATE)

    cancelled = place(alice_client, [("KB", 1), ("MS", 2)]).json()
    shipped = place(alice_client, [("MS", 3)]).json()
    rejected = place(alice_client, [("KB", 2)], country="XX").json()
    wait_for_order(cancelled["order_id"], Order.Status.CONFIRMED, processes=saga_processes)
    wait_for_order(shipped["order_id"], Order.Status.CONFIRMED, processes=saga_processes)
    cancel = alice_client.post(f"/api/orders/{cancelled['order_id']}/cancel/").json()
    dispatch = staff_client.post(f"/api/shipments/{shipped['order_id']}/dispatch/").json()
    wait_until_settled(processes=saga_processes)

    assert Order.objects.get(pk=rejected["order_id"]).status == Order.Status.REJECTED
    assert Order.objects.get(pk=cancelled["order_id"]).status == Order.Status.CANCELLED
    assert Saga.objects.get(pk=cancel["saga_id"]).state == Saga.State.COMPLETED
    assert Saga.objects.get(pk=dispatch["saga_id"]).state == Saga.State.COMPLETED
    assert Charge.objects.count() == 3
    assert Refund.objects.count() == 2
    assert Shipment.objects.count() == 2
    assert {product.sku: (product.on_hand, product.reserved) for product in Product.objects.all()} == {
        "KB": (10, 0),
        "MS": (7, 0),
    }
    assert Customer.objects.get(pk=alice.pk).credit_available == Decimal("440.00")
    fired = dict(Failpoint.objects.values_list("task", "fired"))
    assert all(fired[task] > 0 for task in PARTICIPANT_TASKS), f"every command was sent twice: {fired}"
    assert_invariants()
    assert_nothing_rescued()


@pytest.mark.failpoints
def test_a_compensation_that_keeps_failing_leaves_the_saga_failed_until_an_operator_retries(
    saga_processes, shop, alice, alice_client, staff_client
):
    switch = Failpoint.objects.create(task="payments.refund_payment", action=Failpoint.Action.FAIL)

    body = place(alice_client, [("KB", 2)], country="XX").json()

    saga = wait_for_saga(body["saga_id"], states=[Saga.State.FAILED], processes=saga_processes)
    assert saga.current_step == "refund_payment"
    assert "failpoint" in SagaStep.objects.get(saga=saga, name="refund_payment").error
    assert Order.objects.get(pk=body["order_id"]).status == Order.Status.PENDING
    assert Customer.objects.get(pk=alice.pk).credit_available == Decimal("400.00")
    assert staff_client.get(f"/api/sagas/{saga.pk}/").json()["state"] == "FAILED"

    switch.delete()
    response = staff_client.post(f"/api/sagas/{saga.pk}/retry/")

    assert response.status_code == 202
    assert response.json()["state"] == "COMPENSATING"
    saga = wait_for_saga(saga.pk, processes=saga_processes)
    assert saga.state == Saga.State.COMPENSATED
    assert Order.objects.get(pk=body["order_id"]).status == Order.Status.REJECTED
    assert Customer.objects.get(pk=alice.pk).credit_available == Decimal("500.00")
    assert Product.objects.get(sku="KB").reserved == 0
    assert staff_client.post(f"/api/sagas/{saga.pk}/retry/").status_code == 409
    # Three failed sends, then the operator's; nothing timed out, nothing left to the catch-up.
    assert rescues() == Rescues(resent=3)
    assert_invariants()


def test_a_dispatch_stopped_by_an_undeclared_refusal_resumes_once_its_cause_is_fixed(
    saga_processes, shop, alice_client, staff_client, settings
):
    """The participant really answers (no failpoint): a refusal the step does not declare is
    retried, the saga stops FAILED, and after the fix the operator's retry runs the handler again
    rather than replaying the old refusal."""
    body = place(alice_client, [("KB", 1)]).json()
    wait_for_order(body["order_id"], Order.Status.CONFIRMED, processes=saga_processes)
    parcel = Shipment.objects.filter(order_id=body["order_id"])
    parcel.update(status=Shipment.Status.CANCELLED)

    dispatch = staff_client.post(f"/api/shipments/{body['order_id']}/dispatch/").json()

    saga = wait_for_saga(dispatch["saga_id"], states=[Saga.State.FAILED], processes=saga_processes)
    step = SagaStep.objects.get(saga=saga, name="dispatch_shipment")
    assert step.attempts == settings.SAGA_STEP_MAX_ATTEMPTS
    assert "NOT_SCHEDULED" in step.error
    parcel.update(status=Shipment.Status.SCHEDULED)

    assert staff_client.post(f"/api/sagas/{saga.pk}/retry/").status_code == 202

    saga = wait_for_saga(saga.pk, processes=saga_processes)
    assert saga.state == Saga.State.COMPLETED
    assert parcel.get().status == Shipment.Status.DISPATCHED
    assert Product.objects.get(sku="KB").on_hand == 9
    assert rescues() == Rescues(resent=settings.SAGA_STEP_MAX_ATTEMPTS)
    assert_invariants()


# Thirty orders at once queue longer than the suite's 5 s step deadline on a busy 2-core machine;
# a sweeper re-send there would be a symptom of the clock, not a lost message.
def place_at_once(carts: list[tuple[object, list[tuple[str, int]]]]) -> list[str]:
    """Place every (customer, items) cart from its own thread, all released together; the
    order ids, in the carts' order."""
    start = threading.Barrier(len(carts))

    def buy(cart) -> str:
        customer, items = cart
        try:
            client = token_client(customer.user)
            start.wait(timeout=30)
            return place(client, items).json()["order_id"]
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=len(carts)) as pool:
        return list(pool.map(buy, carts))


def buyers(count: int, *, credit: Decimal) -> list[Customer]:
    return [
        customer_register(
            username=f"buyer{n}",
            password="pw-buyer-123",
            email=f"b{n}@example.com",
            name=f"Buyer {n}",
            credit_limit=credit,
        )
        for n in range(count)
    ]


@pytest.mark.step_deadline(60)
def test_thirty_buyers_for_five_units_confirm_exactly_five(saga_processes):
    product_create(sku="LAST", name="Last lamps", price=Decimal("10.00"), stock=5)
    customers = buyers(6, credit=Decimal("100.00"))

    order_ids = place_at_once([(customers[n % len(customers)], [("LAST", 1)]) for n in range(30)])
    wait_until_settled(processes=saga_processes, timeout=90)

    statuses = Counter(Order.objects.filter(pk__in=order_ids).values_list("status", flat=True))
    assert statuses == {"CONFIRMED": 5, "REJECTED": 25}
    reasons = set(Order.objects.filter(status="REJECTED").values_list("failure_reason", flat=True))
    assert all(reason.startswith("OUT_OF_STOCK") for reason in reasons)
    lamp = Product.objects.get(sku="LAST")
    assert (lamp.on_hand, lamp.reserved) == (5, 5)
    assert_invariants()
    assert_nothing_rescued()


@pytest.mark.step_deadline(60)
def test_orders_whose_lines_overlap_in_opposite_orders_neither_deadlock_nor_oversell(saga_processes):
    """Carts name the same parts in opposite orders. Orders keep their lines in sku order and
    the reservation locks rows in sku order; with both orderings removed, PostgreSQL reports
    deadlocks here and the retries show as rescues."""
    stock = 7
    for sku in ("A", "B", "C"):
        product_create(sku=sku, name=f"Part {sku}", price=Decimal("5.00"), stock=stock)
    shapes = [
        ("A", "B"),
        ("B", "A"),
        ("B", "C"),
        ("C", "B"),
        ("A", "C"),
        ("C", "A"),
        ("A", "B", "C"),
        ("C", "B", "A"),
    ]
    customers = buyers(4, credit=Decimal("1000.00"))
    carts = [(customers[n % 4], [(sku, 1) for sku in shape]) for n, shape in enumerate(shapes * 2)]
    demand = Counter(sku for _, items in carts for sku, _ in items)
    assert all(demand[sku] > stock for sku in "ABC"), "every part is wanted more than it is stocked"

    order_ids = place_at_once(carts)
    wait_until_settled(processes=saga_processes, timeout=90)

    orders = Order.objects.filter(pk__in=order_ids)
    statuses = Counter(orders.values_list("status", flat=True))
    assert set(statuses) == {"CONFIRMED", "REJECTED"}, statuses
    assert all(
        reason.startswith("OUT_OF_STOCK")
        for reason in orders.filter(status="REJECTED").values_list("failure_reason", flat=True)
    )
    assert set(Saga.objects.values_list("state", flat=True)) == {Saga.State.COMPLETED, Saga.State.COMPENSATED}
    for product in Product.objects.all():
        confirmed = (
            OrderLine.objects.filter(order__status="CONFIRMED", sku=product.sku).aggregate(
                total=Sum("quantity")
            )["total"]
            or 0
        )
        assert (product.on_hand, product.reserved) == (stock, confirmed), product.sku
        assert product.reserved <= product.on_hand
    assert_invariants()
    assert_nothing_rescued()  # a deadlock would have shown as a failed attempt and a re-send


@pytest.mark.step_deadline(60)
def test_two_orders_of_one_customer_racing_for_the_same_credit_charge_once(saga_processes):
    product_create(sku="TV", name="Television", price=Decimal("60.00"), stock=20)
    customers = buyers(6, credit=Decimal("100.00"))
    carts = [(customer, [("TV", 1)]) for customer in customers for _ in range(2)]

    order_ids = place_at_once(carts)
    wait_until_settled(processes=saga_processes, timeout=90)

    for customer in customers:
        orders = Order.objects.filter(pk__in=order_ids, customer_id=customer.pk)
        assert sorted(orders.values_list("status", flat=True)) == ["CONFIRMED", "REJECTED"], customer.name
        assert orders.get(status="REJECTED").failure_reason.startswith("PAYMENT_DECLINED")
        assert Charge.objects.filter(customer=customer).count() == 1
        assert not Refund.objects.filter(charge__customer=customer).exists()
        assert Customer.objects.get(pk=customer.pk).credit_available == Decimal("40.00")
    assert_invariants()
    assert_nothing_rescued()


def test_saga_steps_and_requests_leave_projection_to_the_runner(shop, alice_client):
    """Every queue but the runner's is served: the saga runs to its end and the read models do
    not move; they move only once a worker serves the ``readmodels`` queue."""
    from config.celery import app as celery_app
    from readmodels import runner
    from readmodels.models import OrderSummary, ProjectorCheckpoint

    celery_app.control.purge()
    runner.install_waker(runner.send_request)
    env = child_env()
    saga_queues = tuple(queue for queue in settings.TASK_QUEUES if queue != "readmodels")
    steps = start_worker(env, name="steps", queues=saga_queues)

    def positions() -> list[int]:
        return sorted(ProjectorCheckpoint.objects.values_list("position", flat=True))

    before = positions()
    try:
        body = place(alice_client, [("KB", 1)]).json()
        saga = wait_for_saga(body["saga_id"], processes=(steps,))
        assert saga.state == Saga.State.COMPLETED
        assert not OrderSummary.objects.exists()
        assert positions() == before

        projection = start_worker(env, name="projection", queues=("readmodels",))
        try:
            summary = wait_for(
                lambda: OrderSummary.objects.filter(order_id=body["order_id"], status="CONFIRMED").first(),
                timeout=30,
                what="the runner to project the confirmed order",
                processes=(steps, projection),
            )
        finally:
            projection.stop()
    finally:
        steps.stop()
    assert summary.saga_state == Saga.State.COMPLETED
    assert_invariants()
    assert_nothing_rescued()
