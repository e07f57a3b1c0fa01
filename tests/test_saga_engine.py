"""The engine's decisions, one reply at a time, in one process. Sends are recorded instead of
published; the end-to-end tests run the same code against a real worker."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from orders.sagas import CANCEL_ORDER, PLACE_ORDER
from sagas import engine
from sagas.definition import RetryPolicy, SagaDefinition, Step, register
from sagas.engine import Outcome
from sagas.models import Direction, Saga, SagaStep, StepReceipt
from sagas.participant import Command, StepResult, execute_once

pytestmark = pytest.mark.django_db(databases=["default", "read"])


@pytest.fixture
def sent(monkeypatch):
    """The commands the engine sends, in order, as (task, message) pairs."""
    messages = []
    monkeypatch.setattr(
        engine, "publish", lambda task, message, countdown=0: messages.append((task, message))
    )
    return messages


def start(definition=PLACE_ORDER, **data):
    return engine.saga_start(definition=definition, subject_id=uuid.uuid4(), data={"order_id": "o-1", **data})


def reply(saga, outcome, *, step=None, direction=Direction.FORWARD, attempt=1, error_code="", result=None):
    saga.refresh_from_db()
    engine.reply_record(
        saga_id=saga.pk,
        step=step or saga.current_step,
        direction=direction,
        attempt=attempt,
        outcome=outcome,
        result=result or {},
        error_code=error_code,
        error="boom" if outcome != Outcome.SUCCEEDED else "",
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
    assert sent == [
        (
            "inventory.reserve_stock",
            {
                "saga_id": str(saga.pk),
                "step": "reserve_stock",
                "direction": "FORWARD",
                "attempt": 1,
                "data": saga.data,
            },
        )
    ]


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
    assert saga.data["results"]["charge_payment"] == {"from": "charge_payment"}


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
        engine.reply_record(
            saga_id=uuid.uuid4(),
            step="reserve_stock",
            direction="FORWARD",
            attempt=1,
            outcome=Outcome.SUCCEEDED,
        )

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

    monkeypatch.setattr("sagas.engine.current_app.send_task", broker_down)

    engine.publish("inventory.reserve_stock", {"saga_id": "s"})

    assert "the sweeper will re-send it" in caplog.text


def test_definitions_are_checked():
    with pytest.raises(ValueError, match="unique"):
        SagaDefinition("bad", steps=(Step("a", "x.a"), Step("a", "x.b")))
    with pytest.raises(ValueError, match="two different"):
        register(SagaDefinition("place_order", steps=(Step("a", "x.a"),)))


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
        "direction": "FORWARD",
        "attempt": 1,
        "data": {},
    }
    return Command(**{**fields, **overrides})


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
