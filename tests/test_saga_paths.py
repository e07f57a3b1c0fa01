"""The two ways a participant's outcome reaches the engine, with the real participants in this
process: co-located (recorded in the participant's own transaction, one message per step) and
remote (a reply over the broker, two). The end-to-end tests run both against a real worker."""

import pytest
from celery import current_app

from eventlog.models import Event
from orders.models import Order
from orders.services import order_place
from readmodels.models import OrderTimelineEntry
from sagas import publishing
from sagas.models import Failpoint, Saga, SagaStep, StepReceipt
from sagas.protocol import REPLY_TASK

from .readside import ADDRESS, add_product, register

pytestmark = pytest.mark.django_db(databases=["default", "read"])

EVERY_CONTEXT = frozenset({"orders", "inventory", "payments", "shipping"})


@pytest.fixture
def sent():
    """Every message the sagas send, in order, as (task, message) pairs, delivered by ``deliver``."""
    messages = []
    previous = publishing.install(lambda task, message, countdown=0: messages.append((task, message)))
    yield messages
    publishing.install(previous)


@pytest.fixture
def deliver(sent, django_capture_on_commit_callbacks):
    """Run every message sent, and those they send, as a worker would, until none is left;
    returns the names of the tasks run."""
    current_app.loader.import_default_modules()  # the participants' tasks, as a worker finds them

    def run_all() -> list[str]:
        delivered = []
        while sent:
            task, message = sent.pop(0)
            delivered.append(task)
            with django_capture_on_commit_callbacks(execute=True):
                current_app.tasks[task].run(**message)
        return delivered

    return run_all


def place(django_capture_on_commit_callbacks, *, country="GB", limit="500.00") -> Order:
    add_product("KB", price="50.00", stock=5)
    customer = register("alice", limit)
    with django_capture_on_commit_callbacks(execute=True):
        return order_place(
            customer_id=customer.pk,
            items=[{"sku": "KB", "quantity": 2}],
            address={**ADDRESS, "country": country},
        )


@pytest.mark.parametrize(
    ("remote", "messages"),
    [
        (frozenset(), ["reserve_stock", "charge_payment", "schedule_shipment", "confirm_order"]),
        (
            EVERY_CONTEXT,
            [
                "reserve_stock",
                "record_reply",
                "charge_payment",
                "record_reply",
                "schedule_shipment",
                "record_reply",
                "confirm_order",
                "record_reply",
            ],
        ),
    ],
    ids=["co-located", "remote"],
)
def test_a_saga_completes_either_way_with_one_message_per_step_when_co_located(
    settings, django_capture_on_commit_callbacks, deliver, remote, messages
):
    settings.SAGA_REMOTE_CONTEXTS = remote
    order = place(django_capture_on_commit_callbacks)

    delivered = deliver()

    assert [task.rsplit(".", 1)[1] for task in delivered] == messages
    order.refresh_from_db()
    assert order.status == Order.Status.CONFIRMED
    assert Saga.objects.get(pk=order.saga_id).state == Saga.State.COMPLETED
    assert StepReceipt.objects.count() == 4


def test_a_co_located_failure_compensates_newest_first_in_the_participants_transactions(
    settings, django_capture_on_commit_callbacks, deliver
):
    settings.SAGA_REMOTE_CONTEXTS = frozenset()
    order = place(django_capture_on_commit_callbacks, country="XX")

    delivered = deliver()

    assert [task.rsplit(".", 1)[1] for task in delivered] == [
        "reserve_stock",
        "charge_payment",
        "schedule_shipment",
        "refund_payment",
        "release_stock",
        "reject_order",
    ]
    order.refresh_from_db()
    assert order.status == Order.Status.REJECTED
    assert order.failure_reason.startswith("UNDELIVERABLE")
    assert Saga.objects.get(pk=order.saga_id).state == Saga.State.COMPENSATED


def test_a_co_located_duplicate_or_late_copy_does_nothing(
    settings, sent, django_capture_on_commit_callbacks, deliver
):
    settings.SAGA_REMOTE_CONTEXTS = frozenset()
    order = place(django_capture_on_commit_callbacks)
    first_command = list(sent[0])

    deliver()
    with django_capture_on_commit_callbacks(execute=True):
        current_app.tasks[first_command[0]].run(**first_command[1])

    assert sent == [], "a copy of a step no longer in flight sends nothing"
    assert SagaStep.objects.get(saga_id=order.saga_id, name="reserve_stock").attempts == 1
    assert StepReceipt.objects.filter(step="reserve_stock").count() == 1


@pytest.mark.failpoints
def test_a_co_located_transient_failure_rolls_back_and_the_engine_retries_it(
    settings, sent, django_capture_on_commit_callbacks, deliver
):
    settings.SAGA_REMOTE_CONTEXTS = frozenset()
    Failpoint.objects.create(task="payments.charge_payment", action=Failpoint.Action.FAIL, remaining=1)
    order = place(django_capture_on_commit_callbacks)

    delivered = deliver()

    assert [task.rsplit(".", 1)[1] for task in delivered] == [
        "reserve_stock",
        "charge_payment",
        "charge_payment",
        "schedule_shipment",
        "confirm_order",
    ]
    charge = SagaStep.objects.get(saga_id=order.saga_id, name="charge_payment")
    assert charge.attempts == 2
    assert "failpoint" in charge.history[0]["error"]
    assert Saga.objects.get(pk=order.saga_id).state == Saga.State.COMPLETED


def test_the_remote_path_answers_a_redelivered_command_from_its_receipt(
    settings, sent, django_capture_on_commit_callbacks
):
    settings.SAGA_REMOTE_CONTEXTS = EVERY_CONTEXT
    current_app.loader.import_default_modules()
    place(django_capture_on_commit_callbacks)
    task, message = sent.pop(0)

    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            current_app.tasks[task].run(**message)

    assert [reply_task for reply_task, _ in sent] == [REPLY_TASK, REPLY_TASK]
    assert sent[0][1] == sent[1][1], "the copy answered exactly what the first delivery answered"
    assert StepReceipt.objects.count() == 1


def test_a_malformed_command_changes_nothing_and_is_retried_as_transient(
    settings, sent, django_capture_on_commit_callbacks, capsys
):
    settings.SAGA_REMOTE_CONTEXTS = frozenset()
    current_app.loader.import_default_modules()
    order = place(django_capture_on_commit_callbacks)
    task, message = sent.pop(0)
    broken = {**message, "data": {"order_id": message["data"]["order_id"], "lines": [{"sku": "KB"}]}}

    with django_capture_on_commit_callbacks(execute=True):
        current_app.tasks[task].run(**broken)

    reserve = SagaStep.objects.get(saga_id=order.saga_id, name="reserve_stock")
    assert reserve.attempts == 2
    assert "missing required field `quantity`" in reserve.history[0]["error"]
    assert f"saga {order.saga_id}: malformed command refused" in capsys.readouterr().err
    assert not StepReceipt.objects.exists()
    assert [task for task, _ in sent] == ["inventory.reserve_stock"], "the step is sent again"


@pytest.mark.parametrize("remote", [frozenset(), EVERY_CONTEXT], ids=["co-located", "remote"])
def test_every_event_of_a_saga_follows_its_order_and_names_the_step_attempt_that_caused_it(
    settings, django_capture_on_commit_callbacks, deliver, remote
):
    settings.SAGA_REMOTE_CONTEXTS = remote
    order = place(django_capture_on_commit_callbacks)

    deliver()

    followed = list(Event.objects.filter(correlation_id=order.pk).order_by("position"))
    first = {}
    for event in followed:
        first.setdefault(event.type, event)
    assert {"OrderPlaced", "StockReserved", "PaymentCharged", "ShipmentScheduled", "OrderConfirmed"} <= set(
        first
    )
    assert [
        first[name].aggregate_type for name in ("StockReserved", "PaymentCharged", "ShipmentScheduled")
    ] == [
        "reservation",
        "payment",
        "shipment",
    ]
    attempt = f"{order.saga_id}/{{}}/FORWARD/1"
    assert first["OrderPlaced"].causation_id == "", "placed by a command, not by a step"
    assert first["StockReserved"].causation_id == attempt.format("reserve_stock")
    assert first["ShipmentScheduled"].causation_id == attempt.format("schedule_shipment")
    assert first["SagaCompleted"].causation_id == attempt.format("confirm_order"), "the engine's too"
    assert not Event.objects.exclude(correlation_id=order.pk).exclude(
        aggregate_type__in=["product", "customer"]
    )
    timeline = OrderTimelineEntry.objects.filter(order_id=order.pk).order_by("position")
    assert list(timeline.values_list("type", flat=True)) == [
        event.type for event in followed if event.aggregate_type != "saga"
    ]
