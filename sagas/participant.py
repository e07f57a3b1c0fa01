"""The participant's half of the protocol: carry out a saga command once, and record its outcome.

A participant declares the command it carries out, ``@participant(ReserveStock)``, which makes
its handler the Celery task ``ReserveStock.TASK``. The handler receives the command, checked
field by field on arrival (a malformed one is a transient failure, logged with its saga), runs
one local transaction and returns a ``StepResult``; it knows nothing of sagas. The
wrapper makes it idempotent on ``(saga_id, step, direction)`` and records the outcome one of two
ways, chosen per context by ``SAGA_REMOTE_CONTEXTS``:

- co-located (the default: the context's tables share the saga's database): the handler's
  changes, the receipt and the engine's decision (the next command, or the compensations)
  commit in one transaction, with the saga row locked first; the next command leaves after
  that commit. One message and one transaction per step; a duplicate or late copy finds the
  step no longer in flight and does nothing.
- remote (a context with a database of its own): the handler's changes and the receipt commit
  together, and the answer goes back over the broker to ``sagas.record_reply``; a redelivered
  command finds the receipt and answers what it answered before.

Only final answers are kept: success, and the failures the step declares. Any other failure is
transient: its changes roll back, nothing is kept, and the engine retries the step.

The services a handler calls, and the engine functions a step's transaction calls, are
``atomic(savepoint=False)``: nested in the step's transaction they join it, all or nothing, which
is what the step needs; a savepoint would cost two statements and a subtransaction id for a
partial rollback nobody uses. A business failure is an outcome the service returns, never an
exception it raises, so no caller needs to roll back part of a step and carry on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from celery import shared_task
from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction

from eventlog.services import appends_last, caused_by

# The co-located path records outcomes with the engine's own decision code, in this transaction.
from . import engine, failpoints, publishing
from .contracts import Command
from .protocol import REPLY_TASK, MalformedMessage, StepCommand, StepResult, find_receipt, keep_receipt

logger = logging.getLogger(__name__)

# handler(command, *, saga_id, step), as a context writes it.
Handler = Callable[..., StepResult]
# carry_out(*, saga_id, step, data): a handler with its command decoded from the message's data.
CarryOut = Callable[..., StepResult]


def participant(command_class: type[Command]) -> Callable[[Handler], Any]:
    """Turn ``handler(command, *, saga_id, step) -> StepResult`` into the task ``command_class.TASK``."""
    task_name = command_class.TASK

    def decorator(handler: Handler):
        def carry_out(*, saga_id, step, data) -> StepResult:
            return handler(command_class.from_data(data), saga_id=saga_id, step=step)

        @shared_task(name=task_name, ignore_result=True)
        def run(**message: Any) -> None:
            try:
                command = StepCommand.from_message(task_name, message)
            except MalformedMessage:
                # Nothing was done and there is no one to answer: the sweeper re-sends the step.
                logger.exception("refused a malformed saga command")
                return
            if replies_over_broker(task_name):
                reply = command.reply(execute_once(carry_out, command))
                publishing.send(REPLY_TASK, reply.to_message())
            else:
                execute_and_record(carry_out, command)

        run.handler = handler
        run.command_class = command_class
        return run

    return decorator


def replies_over_broker(task_name: str) -> bool:
    """Whether the context that owns ``task_name`` (its prefix) is configured as remote."""
    return task_name.split(".", 1)[0] in settings.SAGA_REMOTE_CONTEXTS


def execute_and_record(handler: CarryOut, command: StepCommand) -> None:
    """The co-located path: run the handler and record its outcome in one transaction; a
    transient failure is recorded by the engine in a transaction of its own."""

    def run_and_record() -> None:
        with transaction.atomic(), appends_last(), caused_by(command.causation_id):
            in_flight = engine.step_in_flight(command.saga_id, command.step, command.direction)
            if in_flight is None:
                logger.info(
                    "%s for saga %s: the step is no longer in flight; nothing to do",
                    command.task,
                    command.saga_id,
                )
                return
            result = find_receipt(command) if in_flight.receipt_kept else _run_handler(handler, command)
            engine.outcome_record(in_flight, command.reply(result))

    transient = _or_transient(command, run_and_record)
    if transient is not None:
        engine.reply_record(command.reply(transient))


def execute_once(handler: CarryOut, command: StepCommand) -> StepResult:
    """The remote path: run the handler at most once per (saga, step, direction) and return the
    answer to send."""

    def run_once() -> StepResult:
        try:
            return _execute_in_transaction(handler, command)
        except IntegrityError:
            # A concurrent delivery of the same command committed first: answer from its receipt.
            return _execute_in_transaction(handler, command)
        except _NotFinal:
            # The handler may have failed only because such a delivery changed the rows it
            # waited for: its final answer, once committed, is this command's answer too.
            earlier = find_receipt(command)
            if earlier is None:
                raise
            return earlier

    return _or_transient(command, run_once)


def _execute_in_transaction(handler: CarryOut, command: StepCommand) -> StepResult:
    # The handler's events are written after its receipt, as the transaction's last statements.
    with transaction.atomic(), appends_last(), caused_by(command.causation_id):
        earlier = find_receipt(command)
        if earlier is not None:
            logger.info(
                "%s for saga %s already done; answering from its receipt", command.task, command.saga_id
            )
            return earlier
        return _run_handler(handler, command)


def _run_handler(handler: CarryOut, command: StepCommand) -> StepResult:
    """Run the handler inside the caller's transaction and keep its answer if it is final;
    otherwise raise, so that the transaction rolls its changes back."""
    result = handler(saga_id=command.saga_id, step=command.step, data=command.data)
    if not result.is_final_for(command):
        logger.warning(
            "%s for saga %s failed with %s, which the step does not declare; it will run again",
            command.task,
            command.saga_id,
            result.error_code,
        )
        raise _NotFinal(result)
    keep_receipt(command, result)
    return result


class _NotFinal(Exception):
    """Raised inside the transaction to roll back a failure the step does not declare."""

    def __init__(self, result: StepResult):
        super().__init__(result.error)
        self.result = result


def _or_transient(command: StepCommand, work: Callable[[], StepResult | None]) -> StepResult | None:
    """What ``work`` returns, or the transient answer its failure deserves."""
    try:
        failpoints.raise_if_failing(command.task)
        return work()
    except _NotFinal as not_final:
        return StepResult.transient(not_final.result.error, not_final.result.error_code)
    except failpoints.InjectedFault as fault:
        return StepResult.transient(str(fault))
    except MalformedMessage as malformed:
        logger.error(
            "%s for saga %s: malformed command refused: %s", command.task, command.saga_id, malformed
        )
        return StepResult.transient(str(malformed))
    except DatabaseError as error:
        logger.warning("%s for saga %s: transient database error: %s", command.task, command.saga_id, error)
        return StepResult.transient(f"{type(error).__name__}: {error}")
    except Exception as error:
        logger.exception("%s for saga %s failed unexpectedly", command.task, command.saga_id)
        return StepResult.transient(f"{type(error).__name__}: {error}")
