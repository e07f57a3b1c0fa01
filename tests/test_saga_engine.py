"""The engine's decisions, one reply at a time, in one process. Sends are recorded instead of
published; the end-to-end tests run the same code against a real worker."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import ClassVar

import pytest
from django.utils import timezone

from inventory.contracts import ReserveStock, StockLine
from inventory.models import Product
from orders.contracts import ConfirmOrder
from orders.sagas import CANCEL_ORDER, PLACE_ORDER, PlacedOrder
from payments.contracts import ChargePayment
from sagas import definition as saga_definitions
from sagas import engine, publishing
from sagas.contracts import Command
from sagas.definition import Recovery, RetryPolicy, SagaDefinition, Step, register
from sagas.models import Direction, Saga, SagaStep, StepReceipt
from sagas.participant import execute_once
from sagas.protocol import MalformedMessage, Outcome, StepCommand, StepReply, StepResult
from sagas.tasks import record_reply
from shipping.contracts import ScheduleShipment

from .sagas import order_to_fulfil

pytestmark = pytest.mark.django_db(databases=["default", "read"])


@pytest.fixture
def sent(monkeypatch):
    """The commands the engine sends, in order, as (task, message) pairs."""
    messages = []
    previous = publishing.install(lambda task, message, countdown=0: messages.append((task, message)))
    yield messages
    publishing.install(previous)


def start(definition=PLACE_ORDER):
    data = order_to_fulfil() if definition is PLACE_ORDER else PlacedOrder(uuid.uuid4())
    return engine.saga_start(definition=definition, subject_id=uuid.uuid4(), data=data)


@dataclass(frozen=True)
class DoA(Command):
    TASK: ClassVar[str] = "test.a"

    @classmethod
    def for_saga(cls, data) -> DoA:
        return cls()


@dataclass(frozen=True)
class UndoA(DoA):
    TASK: ClassVar[str] = "test.undo_a"


@dataclass(frozen=True)
class DoB(DoA):
    TASK: ClassVar[str] = "test.b"


@dataclass(frozen=True)
class NoData:
    pass


def reply(saga, outcome, *, step=None, direction=Direction.FORWARD, attempt=1, error_code="", result=None):
    saga.refresh_from_db()
    engine.reply_record(
        StepReply(
            saga.pk,
            step or saga.current_step,
            Direction(direction),
            attempt,
            StepResult(outcome, result or {}, error_code, "boom" if outcome != Outcome.SUCCEEDED else ""),
        )
    )
    saga.refresh_from_db()
    return saga


def test_start_records_the_accepting_step_and_sends_the_first_command(
    sent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        saga = start()

    assert saga.state == Saga.State.RUNNING
    assert saga.current_step == "reserve_stock"
    assert SagaStep.objects.get(saga=saga, name="place_order").status == SagaStep.Status.SUCCEEDED
    [(task, message)] = sent
    assert task == "inventory.reserve_stock"
    assert message["saga_id"] == str(saga.pk)
    assert (message["step"], message["direction"], message["attempt"]) == ("reserve_stock", "FORWARD", 1)
    assert message["business_failures"] == ["OUT_OF_STOCK"]
    order = PLACE_ORDER.load(saga.data)
    assert ReserveStock.from_data(message["data"]) == ReserveStock(order.order_id, (StockLine("KB", 1),))


def test_each_step_is_sent_the_command_its_definition_builds(sent, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        saga = start()
        for _ in range(3):
            saga = reply(saga, Outcome.SUCCEEDED)
    order = PLACE_ORDER.load(saga.data)

    commands = [StepCommand.from_message(task, message) for task, message in sent]

    assert ChargePayment.from_data(commands[1].data) == ChargePayment(
        order.order_id, order.customer_id, order.total
    )
    assert ScheduleShipment.from_data(commands[2].data).address.country == "GB"
    assert ConfirmOrder.from_data(commands[3].data) == ConfirmOrder(order.order_id)


def test_nothing_is_sent_before_the_transaction_commits(sent, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        start()

    assert sent == []
    for callback in callbacks:
        callback()
    assert [task for task, _ in sent] == ["inventory.reserve_stock"]


def test_each_success_sends_the_next_step_until_completed(sent, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        saga = start()
        for _ in range(4):
            saga = reply(saga, Outcome.SUCCEEDED, result={"from": saga.current_step})

    assert saga.state == Saga.State.COMPLETED
    assert saga.deadline_at is None
    assert [task for task, _ in sent] == [
        "inventory.reserve_stock",
        "payments.charge_payment",
        "shipping.schedule_shipment",
        "orders.confirm_order",
    ]
    assert SagaStep.objects.get(saga=saga, name="charge_payment").result == {"from": "charge_payment"}
    assert "results" not in saga.data


def test_a_business_failure_compensates_completed_steps_newest_first(
    sent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        saga = start()
        saga = reply(saga, Outcome.SUCCEEDED)
        saga = reply(saga, Outcome.SUCCEEDED)
        saga = reply(saga, Outcome.FAILED, error_code="UNDELIVERABLE")

    assert saga.state == Saga.State.COMPENSATING
    assert saga.compensation_plan == ["refund_payment", "release_stock", "reject_order"]
    assert saga.data["failure"] == {"code": "UNDELIVERABLE", "detail": "boom", "step": "schedule_shipment"}
    assert sent[-1][0] == "payments.refund_payment"

    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(3):
            saga = reply(saga, Outcome.SUCCEEDED, direction=Direction.COMPENSATION)

    assert saga.state == Saga.State.COMPENSATED
    assert [task for task, _ in sent[-3:]] == [
        "payments.refund_payment",
        "inventory.release_stock",
        "orders.reject_order",
    ]


def test_an_undeclared_error_code_is_retried_not_compensated(sent, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        saga = start()
        saga = reply(saga, Outcome.FAILED, error_code="SOMETHING_ELSE")

    assert saga.state == Saga.State.RUNNING
    assert SagaStep.objects.get(saga=saga, name="reserve_stock").attempts == 2
    assert [message["attempt"] for _, message in sent] == [1, 2]


def test_exhausted_retries_compensate_the_step_too(sent, settings, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        saga = start()
        saga = reply(saga, Outcome.SUCCEEDED)
        for attempt in range(1, settings.SAGA_STEP_MAX_ATTEMPTS + 1):
            saga = reply(saga, Outcome.TRANSIENT, attempt=attempt)

    assert saga.state == Saga.State.COMPENSATING
    assert saga.failure_code == "STEP_FAILED"
    # The charge may have happened with its reply lost, so it is refunded too.
    assert saga.compensation_plan == ["refund_payment", "release_stock", "reject_order"]


def test_a_forward_recovery_saga_stops_failed_and_resumes_on_retry(
    sent, settings, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        saga = start(CANCEL_ORDER)
        for attempt in range(1, settings.SAGA_STEP_MAX_ATTEMPTS + 1):
            saga = reply(saga, Outcome.TRANSIENT, attempt=attempt)

    assert saga.state == Saga.State.FAILED
    assert saga.current_step == "cancel_shipment"
    with pytest.raises(engine.SagaStateError):
        engine.saga_compensate(saga_id=saga.pk, actor="ops")

    with django_capture_on_commit_callbacks(execute=True):
        engine.saga_retry(saga_id=saga.pk, actor="ops")

    saga.refresh_from_db()
    assert saga.state == Saga.State.RUNNING
    assert SagaStep.objects.get(saga=saga, name="cancel_shipment").attempts == 1
    assert sent[-1][1]["attempt"] == 1
    with pytest.raises(engine.SagaStateError):
        engine.saga_retry(saga_id=saga.pk, actor="ops")


def test_duplicate_stale_and_unknown_replies_change_nothing(sent, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        saga = start()
        saga = reply(saga, Outcome.SUCCEEDED)
    before = (saga.state, saga.current_step, len(sent))

    with django_capture_on_commit_callbacks(execute=True):
        saga = reply(saga, Outcome.SUCCEEDED, step="reserve_stock")
        saga = reply(saga, Outcome.FAILED, step="reserve_stock", error_code="OUT_OF_STOCK")
        engine.reply_record(StepReply(uuid.uuid4(), "reserve_stock", Direction.FORWARD, 1, StepResult.ok()))

    saga.refresh_from_db()
    assert (saga.state, saga.current_step, len(sent)) == before


def test_the_sweeper_resends_overdue_steps_and_leaves_others(sent, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        overdue, on_time = start(), start()
    Saga.objects.filter(pk=overdue.pk).update(deadline_at=timezone.now() - timedelta(seconds=1))

    with django_capture_on_commit_callbacks(execute=True):
        swept = engine.sweep_overdue()

    assert swept == 1
    assert [message["saga_id"] for _, message in sent[2:]] == [str(overdue.pk)]
    step = SagaStep.objects.get(saga=overdue, name="reserve_stock")
    assert step.attempts == 2
    assert step.history[0]["outcome"] == "TIMED_OUT"
    assert SagaStep.objects.get(saga=on_time, name="reserve_stock").attempts == 1


def test_operators_can_compensate_a_stuck_saga(sent, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        saga = start()
        saga = reply(saga, Outcome.SUCCEEDED)
        engine.saga_compensate(saga_id=saga.pk, actor="ada")

    saga.refresh_from_db()
    assert saga.state == Saga.State.COMPENSATING
    assert saga.failure_code == "ABORTED"
    assert "ada" in saga.failure_detail
    assert saga.compensation_plan == ["refund_payment", "release_stock", "reject_order"]


def test_a_broker_error_after_commit_is_logged_not_raised(monkeypatch, caplog):
    def broker_down(*args, **kwargs):
        raise ConnectionError("broker down")

    monkeypatch.setattr("sagas.publishing.current_app.send_task", broker_down)
    previous = publishing.install(publishing.celery_publisher)
    try:
        publishing.send("inventory.reserve_stock", {"saga_id": "s"})
    finally:
        publishing.install(previous)

    assert "the sweeper will re-send it" in caplog.text


def test_definitions_are_checked():
    with pytest.raises(ValueError, match="unique"):
        SagaDefinition("bad", NoData, steps=(Step("a", DoA.for_saga), Step("a", DoB.for_saga)))
    with pytest.raises(ValueError, match="two different"):
        register(SagaDefinition("place_order", NoData, steps=(Step("a", DoA.for_saga),)))
    with pytest.raises(ValueError, match="only the first step may lack a command, not b"):
        SagaDefinition("bad", NoData, steps=(Step("a", None), Step("b", None), Step("c", DoA.for_saga)))
    with pytest.raises(ValueError, match="must be a classmethod of a Command"):
        Step("a", lambda data: DoA())
    with pytest.raises(TypeError, match="place_order takes OrderToFulfil, not dict"):
        engine.saga_start(definition=PLACE_ORDER, subject_id=None, data={"order_id": "o-1"})


def test_retry_delays_grow_and_stay_under_the_cap():
    policy = RetryPolicy(max_attempts=10, base_delay=0.5, max_delay=4)

    assert policy.delay_before(1) == 0
    assert all(
        0 <= policy.delay_before(attempt) <= min(4, 0.5 * 2 ** (attempt - 2)) for attempt in range(2, 10)
    )


def command(**overrides):
    fields = {
        "task": "test.step",
        "saga_id": uuid.uuid4(),
        "step": "reserve_stock",
        "direction": Direction.FORWARD,
        "attempt": 1,
        "data": {},
        "business_failures": frozenset({"OUT_OF_STOCK"}),
    }
    return StepCommand(**{**fields, **overrides})


def test_a_participant_acts_once_and_answers_every_time():
    calls = []

    def handler(*, saga_id, step, data):
        calls.append(saga_id)
        return StepResult.ok({"n": len(calls)})

    once = command()

    first, second = execute_once(handler, once), execute_once(handler, once)

    assert len(calls) == 1
    assert first.outcome == second.outcome == Outcome.SUCCEEDED
    assert first.result == second.result == {"n": 1}
    assert StepReceipt.objects.count() == 1


def test_a_participants_business_failure_is_remembered():
    answers = iter([StepResult.failed("OUT_OF_STOCK", "none left"), StepResult.ok()])

    def handler(*, saga_id, step, data):
        return next(answers)

    once = command()

    first, second = execute_once(handler, once), execute_once(handler, once)

    assert first.outcome == second.outcome == Outcome.FAILED
    assert second.error_code == "OUT_OF_STOCK"


def test_a_participants_crash_is_a_transient_answer_and_leaves_no_receipt():
    def handler(*, saga_id, step, data):
        raise KeyError("order_id")

    answer = execute_once(handler, command())

    assert answer.outcome == Outcome.TRANSIENT
    assert "KeyError" in answer.error
    assert not StepReceipt.objects.exists()


def test_a_failure_the_step_does_not_declare_is_not_kept_and_runs_again():
    calls, changes = [], []

    def handler(*, saga_id, step, data):
        calls.append(step)
        changes.append(add_product_row(f"SKU{len(calls)}"))
        if len(calls) == 1:
            return StepResult.failed("NOT_SCHEDULED", "no shipment yet")
        return StepResult.ok()

    once = command()

    first, second = execute_once(handler, once), execute_once(handler, once)

    assert first.outcome == Outcome.TRANSIENT
    assert first.error_code == "NOT_SCHEDULED"
    assert second.outcome == Outcome.SUCCEEDED
    assert len(calls) == 2, "the re-send ran the handler again instead of replaying the failure"
    assert list(Product.objects.values_list("sku", flat=True)) == ["SKU2"], (
        "the failed attempt's changes rolled back"
    )
    assert StepReceipt.objects.get().succeeded


def add_product_row(sku: str):
    return Product.objects.create(sku=sku, name=sku, price=1, on_hand=1)


def test_messages_round_trip_and_a_malformed_one_is_refused_whole():
    sent_command = command(data={"order_id": "o-1"})

    assert StepCommand.from_message(sent_command.task, sent_command.to_message()) == sent_command
    answer = sent_command.reply(StepResult.failed("OUT_OF_STOCK", "none left"))
    assert StepReply.from_message(answer.to_message()) == answer
    for broken in (
        {**sent_command.to_message(), "saga_id": "not-a-uuid"},
        {**sent_command.to_message(), "direction": "SIDEWAYS"},
        {key: value for key, value in sent_command.to_message().items() if key != "data"},
        {**sent_command.to_message(), "data": ["order_id"]},
    ):
        with pytest.raises(MalformedMessage, match=r"test\.step for saga"):
            StepCommand.from_message("test.step", broken)
    with pytest.raises(MalformedMessage, match="not a valid Outcome"):
        StepReply.from_message({**answer.to_message(), "outcome": "MAYBE"})


def test_a_malformed_reply_changes_nothing(sent, django_capture_on_commit_callbacks, caplog):
    with django_capture_on_commit_callbacks(execute=True):
        saga = start()

    record_reply.run(saga_id=str(saga.pk), step="reserve_stock", direction="FORWARD", attempt="one")

    saga.refresh_from_db()
    assert (saga.state, saga.current_step) == (Saga.State.RUNNING, "reserve_stock")
    assert "refused a malformed saga reply" in caplog.text


@pytest.mark.parametrize("recovery", [Recovery.FORWARD, Recovery.BACKWARD])
def test_an_operator_retry_succeeds_once_the_cause_of_an_undeclared_failure_is_fixed(
    sent, settings, django_capture_on_commit_callbacks, recovery, monkeypatch
):
    """The step (forward recovery) or the compensation (backward) answers a failure it does not
    declare until its cause is fixed; the saga stops FAILED; the operator's retry then runs the
    handler again instead of replaying the old failure from a receipt."""
    fixed = False

    def handler(*, saga_id, step, data):
        return StepResult.ok() if fixed else StepResult.failed("NOT_READY", "not yet")

    failing = "undo_a" if recovery == Recovery.BACKWARD else "a"
    definition = SagaDefinition(
        f"retry_{recovery.lower()}",
        NoData,
        recovery=recovery,
        steps=(
            Step("a", DoA.for_saga, compensation=UndoA.for_saga),
            Step("b", DoB.for_saga, business_failures=frozenset({"NO"})),
        ),
    )
    # Known to the engine for this test only: the application's registry stays as it ships.
    monkeypatch.setitem(saga_definitions._registry, definition.type, definition)
    handlers = {
        "test.a": handler if failing == "a" else (lambda **_: StepResult.ok()),
        "test.undo_a": handler if failing == "undo_a" else (lambda **_: StepResult.ok()),
        # Backward: a business refusal at b sends the saga back through the failing compensation.
        "test.b": (lambda **_: StepResult.failed("NO", "refused"))
        if recovery == Recovery.BACKWARD
        else (lambda **_: StepResult.ok()),
    }

    def deliver_until_quiet():
        while sent:
            task, message = sent.pop(0)
            sent_command = StepCommand.from_message(task, message)
            with django_capture_on_commit_callbacks(execute=True):
                engine.reply_record(sent_command.reply(execute_once(handlers[task], sent_command)))

    with django_capture_on_commit_callbacks(execute=True):
        saga = engine.saga_start(definition=definition, subject_id=None, data=NoData())
    deliver_until_quiet()
    saga.refresh_from_db()
    assert saga.state == Saga.State.FAILED
    assert saga.current_step == failing

    fixed = True
    with django_capture_on_commit_callbacks(execute=True):
        engine.saga_retry(saga_id=saga.pk, actor="ops")
    deliver_until_quiet()

    saga.refresh_from_db()
    expected = Saga.State.COMPENSATED if recovery == Recovery.BACKWARD else Saga.State.COMPLETED
    assert saga.state == expected
