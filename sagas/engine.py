"""The saga orchestrator: starts sagas, records participants' replies, sweeps lost steps.

Every function here runs inside one database transaction, appends its events after its rows
(``appends_last``), and holds the saga's row lock while it decides, so two replies (or a reply
and the sweeper) racing for one saga are applied one after the other. Commands leave only after
that transaction commits (``transaction.on_commit``); a message lost between commit and broker
is re-sent by the sweeper when its deadline passes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, fields, replace
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from config.logcontext import bind_log_context
from eventlog.services import appends_last, caused_by, event_append

from . import events, publishing
from .contracts import dump
from .definition import Recovery, SagaDefinition, SagaFailure, Step, definition_for
from .models import Direction, Saga, SagaStep, StepReceipt
from .protocol import Outcome, StepCommand, StepReply

logger = logging.getLogger(__name__)

SWEEP_BATCH = 200

# A saga's step rows by (name, direction), read once per transaction after the saga's row lock:
# the decision looks up the next step's row in it and, when compensating, the steps that
# succeeded. The engine changes these same objects as it decides, so the mapping stays current.
StepRows = dict[tuple[str, str], SagaStep]


class SagaStateError(Exception):
    """An operator command that does not fit the saga's current state."""


# --- Commands ----------------------------------------------------------------------------------


def can_retry(saga: Saga) -> bool:
    return saga.state == Saga.State.FAILED


def can_compensate(saga: Saga) -> bool:
    """A running saga whose definition undoes its steps on failure (backward recovery)."""
    try:
        definition = definition_for(saga.type)
    except KeyError:
        return False
    return saga.state == Saga.State.RUNNING and definition.recovery == Recovery.BACKWARD


@transaction.atomic(savepoint=False)
@appends_last()
def saga_start(
    *, definition: SagaDefinition, subject_id: UUID | None, data: Any, saga_id: UUID | None = None
) -> Saga:
    """Create a saga and send its first command once the caller's transaction commits.

    ``data`` is an instance of the definition's data type; ``saga_id`` lets the caller name the
    saga in its own events before starting it.
    """
    if not isinstance(data, definition.data):
        raise TypeError(f"{definition.type} takes {definition.data.__name__}, not {type(data).__name__}")
    saga = Saga.objects.create(
        id=saga_id or uuid4(), type=definition.type, subject_id=subject_id, data=dump(data)
    )
    bind_log_context(saga_id=saga.pk, order_id=getattr(data, "order_id", None))
    _append(saga, events.SagaStarted)
    to_send, rows = definition.steps, {}
    if to_send[0].command is None:
        accepted_at = timezone.now()
        done_by_caller = SagaStep.objects.create(
            saga=saga,
            name=to_send[0].name,
            status=SagaStep.Status.SUCCEEDED,
            started_at=accepted_at,
            finished_at=accepted_at,
        )
        rows[(done_by_caller.name, done_by_caller.direction)] = done_by_caller
        to_send = to_send[1:]
    if to_send:
        _begin(saga, definition, rows, to_send[0], Direction.FORWARD)
    else:
        _finish(saga, Saga.State.COMPLETED)
    saga.save()
    return saga


@transaction.atomic
@appends_last()
def reply_record(reply: StepReply) -> None:
    """Apply an answer to the step in flight, in a transaction of its own: a reply that came
    over the broker, or a transient failure whose participant transaction rolled back."""
    in_flight = step_in_flight(reply.saga_id, reply.step, reply.direction)
    if in_flight is None:
        logger.info(
            "duplicate or stale reply ignored: saga %s %s %s attempt %s",
            reply.saga_id,
            reply.direction,
            reply.step,
            reply.attempt,
        )
        return
    with caused_by(reply.causation_id):
        outcome_record(in_flight, reply)


@dataclass(frozen=True)
class InFlight:
    saga: Saga
    step: SagaStep
    rows: StepRows
    # Whether a receipt keeps this step's final answer: one given on the remote path whose reply
    # was lost before the context was made co-located. The participant answers from it.
    receipt_kept: bool


def step_in_flight(saga_id: UUID, step: str, direction: str) -> InFlight | None:
    """The saga, locked until the caller's transaction ends, and its steps, if ``step`` is the
    one in flight; None for a duplicate, a late copy, or an unknown saga.

    Two statements: the lock, then every step row with its receipt's existence. The rows are read
    after the lock is held, so a writer that held it before has committed and is seen."""
    saga = Saga.objects.select_for_update().filter(pk=saga_id).first()
    if saga is None or not (saga.is_active and saga.current_step == step and saga.direction == direction):
        return None
    receipt = StepReceipt.objects.filter(
        saga_id=OuterRef("saga_id"), step=OuterRef("name"), direction=OuterRef("direction")
    )
    rows = _step_rows(saga, SagaStep.objects.annotate(receipt_kept=Exists(receipt)))
    step_row = rows.get((step, direction))
    if step_row is None or step_row.status != SagaStep.Status.RUNNING:
        return None
    return InFlight(saga, step_row, rows, step_row.receipt_kept)


def outcome_record(in_flight: InFlight, reply: StepReply) -> None:
    """Record a step's outcome and decide what follows: the next command, the compensations, a
    retry, or the end. Runs in the caller's transaction with the saga locked (``step_in_flight``):
    the engine's own for a reply, or the participant's, where the outcome commits with the
    change it reports."""
    saga, step_row, rows, result = in_flight.saga, in_flight.step, in_flight.rows, reply.result
    definition = definition_for(saga.type)
    step_def = _step_definition(definition, step_row)
    _note_attempt(step_row, reply.attempt, outcome=result.outcome, error=result.error)
    if result.outcome == Outcome.SUCCEEDED:
        _succeeded(saga, definition, rows, step_row, result.result)
    elif (
        result.outcome == Outcome.FAILED
        and step_row.direction == Direction.FORWARD
        and result.error_code in step_def.business_failures
    ):
        _close_step(step_row, SagaStep.Status.FAILED, error=f"{result.error_code}: {result.error}")
        _compensate(
            saga,
            definition,
            rows,
            step_def,
            code=result.error_code,
            detail=result.error,
            include_failed_step=False,
        )
    else:
        reason = f"{result.error_code}: {result.error}" if result.error_code else result.error
        _retry_or_give_up(saga, definition, rows, step_row, reason=reason)
    saga.save()


def sweep_overdue(*, now=None, limit: int = SWEEP_BATCH) -> int:
    """Treat every step whose deadline has passed as a lost attempt: re-send it or give up.

    Each saga is handled in its own transaction and skipped if another sweeper holds it.
    """
    now = now or timezone.now()
    overdue = list(
        Saga.objects.filter(state__in=Saga.ACTIVE_STATES, deadline_at__lt=now)
        .order_by("deadline_at")
        .values_list("pk", flat=True)[:limit]
    )
    swept = 0
    for saga_id in overdue:
        with transaction.atomic(), appends_last():
            saga = (
                Saga.objects.select_for_update(skip_locked=True)
                .filter(pk=saga_id, state__in=Saga.ACTIVE_STATES, deadline_at__lt=now)
                .first()
            )
            if saga is None:
                continue
            rows = _step_rows(saga)
            step_row = rows[(saga.current_step, saga.direction)]
            _note_attempt(
                step_row, step_row.attempts, outcome="TIMED_OUT", error="no reply before the deadline"
            )
            logger.warning(
                "saga %s: %s %s timed out (attempt %s)",
                saga.pk,
                saga.direction,
                saga.current_step,
                step_row.attempts,
            )
            _retry_or_give_up(
                saga, definition_for(saga.type), rows, step_row, reason="no reply before the deadline"
            )
            saga.save()
            swept += 1
    return swept


@transaction.atomic
@appends_last()
def saga_retry(*, saga_id: UUID, actor: str) -> Saga:
    """Resume a FAILED saga where it stopped, with a fresh budget of attempts."""
    saga = _locked(saga_id)
    if not can_retry(saga):
        raise SagaStateError(f"only a FAILED saga can be retried; this one is {saga.state}")
    definition = definition_for(saga.type)
    step_row = SagaStep.objects.get(saga=saga, name=saga.current_step, direction=saga.direction)
    saga.state = Saga.State.RUNNING if saga.direction == Direction.FORWARD else Saga.State.COMPENSATING
    saga.finished_at = None
    step_row.attempts = 0
    step_row.status = SagaStep.Status.RUNNING
    step_row.finished_at = None
    _append(saga, events.SagaRetried, actor=actor, step=step_row.name, direction=step_row.direction)
    _send(saga, definition, step_row, reason=f"retried by {actor}")
    saga.save()
    return saga


@transaction.atomic
@appends_last()
def saga_compensate(*, saga_id: UUID, actor: str) -> Saga:
    """Give up on a running saga and undo what it did: the operator's way out of a stuck step."""
    saga = _locked(saga_id)
    if not can_compensate(saga):
        raise SagaStateError(f"only a RUNNING {Recovery.BACKWARD.lower()}-recovery saga can be compensated")
    definition = definition_for(saga.type)
    rows = _step_rows(saga)
    step_row = rows[(saga.current_step, saga.direction)]
    detail = f"compensation forced by {actor} during {step_row.name}"
    _close_step(step_row, SagaStep.Status.FAILED, error=detail)
    _compensate(
        saga,
        definition,
        rows,
        definition.step(step_row.name),
        code="ABORTED",
        detail=detail,
        include_failed_step=True,
    )
    saga.save()
    return saga


# --- State transitions (called with the saga row locked) ---------------------------------------


def _succeeded(
    saga: Saga, definition: SagaDefinition, rows: StepRows, step_row: SagaStep, result: dict[str, Any]
) -> None:
    _close_step(step_row, SagaStep.Status.SUCCEEDED, result=result)
    if step_row.direction == Direction.FORWARD:
        following = definition.steps[definition.index_of(step_row.name) + 1 :]
        if following:
            _begin(saga, definition, rows, following[0], Direction.FORWARD)
        else:
            _finish(saga, Saga.State.COMPLETED)
        return
    remaining = saga.compensation_plan[saga.compensation_plan.index(step_row.name) + 1 :]
    if remaining:
        _begin(saga, definition, rows, definition.step_for_compensation(remaining[0]), Direction.COMPENSATION)
    else:
        _finish(saga, Saga.State.COMPENSATED)


def _compensate(
    saga: Saga,
    definition: SagaDefinition,
    rows: StepRows,
    failed: Step,
    *,
    code: str,
    detail: str,
    include_failed_step: bool,
) -> None:
    """Start undoing, newest first, every step that succeeded, and the failed one when it may
    have taken effect unseen (a lost reply); compensations succeed when there is nothing to undo.

    The saga keeps the whole detail for staff; its data, which compensations read and a customer
    may see, keeps a business failure's own words and only the step's name for anything else (an
    error after its retries, a database message, an operator's abort)."""
    saga.failure_code, saga.failure_detail = code, detail
    if "failure" in {data_field.name for data_field in fields(definition.data)}:
        public = detail if code in failed.business_failures else f"{failed.name} could not be completed"
        data = definition.load(saga.data)
        saga.data = dump(replace(data, failure=SagaFailure(code, public, failed.name)))
    done = {
        name
        for (name, direction), row in rows.items()
        if direction == Direction.FORWARD and row.status == SagaStep.Status.SUCCEEDED
    }
    last = definition.index_of(failed.name) + (1 if include_failed_step else 0)
    saga.compensation_plan = [
        step.compensation_name
        for step in reversed(definition.steps[:last])
        if step.compensation is not None and (step.name in done or step is failed)
    ]
    if saga.compensation_plan:
        saga.state = Saga.State.COMPENSATING
        _append(saga, events.SagaCompensationStarted, failure_code=code, failure_detail=detail)
        _begin(
            saga,
            definition,
            rows,
            definition.step_for_compensation(saga.compensation_plan[0]),
            Direction.COMPENSATION,
        )
    else:
        _finish(saga, Saga.State.COMPENSATED)


def _retry_or_give_up(
    saga: Saga, definition: SagaDefinition, rows: StepRows, step_row: SagaStep, *, reason: str
) -> None:
    step_def = _step_definition(definition, step_row)
    forward = step_row.direction == Direction.FORWARD
    policy = step_def.retry if forward else step_def.compensation_retry
    if step_row.attempts < policy.max_attempts:
        _send(saga, definition, step_row, reason=reason)
        return
    error = f"gave up after {step_row.attempts} attempts: {reason}"
    _close_step(step_row, SagaStep.Status.FAILED, error=error)
    if forward and definition.recovery == Recovery.BACKWARD:
        _compensate(
            saga,
            definition,
            rows,
            step_def,
            code="STEP_FAILED",
            detail=f"{step_row.name} {error}",
            include_failed_step=True,
        )
    else:
        saga.failure_code, saga.failure_detail = "STEP_FAILED", f"{step_row.name} {error}"
        _finish(saga, Saga.State.FAILED)


def _begin(saga: Saga, definition: SagaDefinition, rows: StepRows, step: Step, direction: str) -> None:
    name = step.name if direction == Direction.FORWARD else step.compensation_name
    # ``_send`` saves the row, inserting it the first time (the saga's row lock keeps a second
    # writer out, so no get_or_create savepoint).
    step_row = rows.get((name, direction)) or SagaStep(saga=saga, name=name, direction=direction)
    rows[(name, direction)] = step_row
    saga.current_step, saga.direction = name, direction
    _append(saga, events.SagaStepStarted, step=name, direction=direction)
    _send(saga, definition, step_row, reason="")


def _send(saga: Saga, definition: SagaDefinition, step_row: SagaStep, *, reason: str) -> None:
    step_def = _step_definition(definition, step_row)
    forward = step_row.direction == Direction.FORWARD
    policy = step_def.retry if forward else step_def.compensation_retry
    build = step_def.command if forward else step_def.compensation
    payload = build(definition.load(saga.data))
    attempt = step_row.attempts + 1
    delay = policy.delay_before(attempt)
    command = StepCommand(
        task=payload.TASK,
        saga_id=saga.pk,
        step=step_row.name,
        direction=Direction(step_row.direction),
        attempt=attempt,
        data=payload.to_data(),
        business_failures=step_def.business_failures if forward else frozenset(),
    )
    now = timezone.now()
    step_row.attempts = attempt
    step_row.status = SagaStep.Status.RUNNING
    step_row.history = [
        *step_row.history,
        {"attempt": attempt, "sent_at": now, "delay": round(delay, 3), "cause": reason},
    ]
    step_row.save()
    saga.deadline_at = now + timedelta(seconds=delay) + step_def.attempt_deadline()
    publishing.send_after_commit(command.task, command.to_message(), countdown=delay)


def _finish(saga: Saga, state: str) -> None:
    saga.state = state
    saga.deadline_at = None
    saga.finished_at = timezone.now()
    event = {
        Saga.State.COMPLETED: events.SagaCompleted,
        Saga.State.COMPENSATED: events.SagaCompensated,
        Saga.State.FAILED: events.SagaFailed,
    }[state]
    _append(saga, event, failure_code=saga.failure_code, failure_detail=saga.failure_detail)


# --- Helpers -----------------------------------------------------------------------------------


def _locked(saga_id: UUID) -> Saga:
    return Saga.objects.select_for_update().get(pk=saga_id)


def _step_rows(saga: Saga, queryset=SagaStep.objects) -> StepRows:
    """The saga's step rows; read them with its row lock held."""
    return {(row.name, row.direction): row for row in queryset.filter(saga=saga)}


def _step_definition(definition: SagaDefinition, step_row: SagaStep) -> Step:
    if step_row.direction == Direction.FORWARD:
        return definition.step(step_row.name)
    return definition.step_for_compensation(step_row.name)


def _note_attempt(step_row: SagaStep, attempt: int, *, outcome: str, error: str) -> None:
    """Write the attempt's outcome into the step's history; the transition that follows (close,
    re-send or give up) saves the row, once."""
    history = list(step_row.history)
    for entry in reversed(history):
        if entry.get("attempt") == attempt and "outcome" not in entry:
            entry.update(outcome=outcome, error=error, finished_at=timezone.now())
            break
    step_row.history = history
    if error:
        step_row.error = error


def _close_step(step_row: SagaStep, status: str, *, result: dict | None = None, error: str = "") -> None:
    """A step that succeeded after retries shows no error; its attempts' history keeps them."""
    step_row.status = status
    step_row.finished_at = timezone.now()
    if result is not None:
        step_row.result = result
    step_row.error = error if status != SagaStep.Status.SUCCEEDED else ""
    step_row.save()


def _append(saga: Saga, event_type: type[events.SagaEvent], **data) -> None:
    event = event_type(
        saga_id=saga.pk,
        type=saga.type,
        subject_id=saga.subject_id,
        state=saga.state,
        current_step=saga.current_step,
        **data,
    )
    event_append(event, aggregate_id=saga.pk, correlation_id=saga.subject_id, saga_id=saga.pk)
