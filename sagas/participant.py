"""The participant's half of the protocol: carry out a saga command once, answer every time.

A participant declares a task with ``@participant("inventory.reserve_stock")``; its handler
runs one local transaction and returns a ``StepResult``. The wrapper makes it idempotent on
``(saga_id, step, direction)``: the handler's changes and the receipt of a final answer commit
together, and a redelivered command (late acknowledgement, a sweeper re-send) finds the receipt
and answers what it answered before. A failure the step does not declare is transient: its
changes are rolled back, nothing is kept, and the next attempt runs the handler again. The reply
leaves only after the commit.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from celery import shared_task
from django.db import DatabaseError, IntegrityError, transaction

from eventlog.services import appends_last

from . import failpoints, publishing
from .protocol import REPLY_TASK, MalformedMessage, StepCommand, StepResult, find_receipt, keep_receipt

logger = logging.getLogger(__name__)

Handler = Callable[..., StepResult]


def participant(task_name: str) -> Callable[[Handler], Any]:
    """Turn ``handler(*, saga_id, step, data) -> StepResult`` into the Celery task ``task_name``."""

    def decorator(handler: Handler):
        @shared_task(name=task_name, ignore_result=True)
        def run(**message: Any) -> None:
            try:
                command = StepCommand.from_message(task_name, message)
            except MalformedMessage:
                # Nothing was done and there is no one to answer: the sweeper re-sends the step.
                logger.exception("refused a malformed saga command")
                return
            reply = command.reply(execute_once(handler, command))
            publishing.send(REPLY_TASK, reply.to_message())

        run.handler = handler
        return run

    return decorator


def execute_once(handler: Handler, command: StepCommand) -> StepResult:
    """Run the handler at most once per (saga, step, direction) and return the answer to send."""
    try:
        failpoints.raise_if_failing(command.task)
        try:
            return _execute_in_transaction(handler, command)
        except IntegrityError:
            # A concurrent delivery of the same command committed first: answer from its receipt.
            return _execute_in_transaction(handler, command)
    except _NotFinal as not_final:
        return StepResult.transient(not_final.result.error, not_final.result.error_code)
    except failpoints.InjectedFault as fault:
        return StepResult.transient(str(fault))
    except DatabaseError as error:
        logger.warning("%s for saga %s: transient database error: %s", command.task, command.saga_id, error)
        return StepResult.transient(f"{type(error).__name__}: {error}")
    except Exception as error:
        logger.exception("%s for saga %s failed unexpectedly", command.task, command.saga_id)
        return StepResult.transient(f"{type(error).__name__}: {error}")


class _NotFinal(Exception):
    """Raised inside the transaction to roll back a failure the step does not declare."""

    def __init__(self, result: StepResult):
        super().__init__(result.error)
        self.result = result


def _execute_in_transaction(handler: Handler, command: StepCommand) -> StepResult:
    # The handler's events are written after its receipt, as the transaction's last statements.
    with transaction.atomic(), appends_last():
        earlier = find_receipt(command)
        if earlier is not None:
            logger.info(
                "%s for saga %s already done; answering from its receipt", command.task, command.saga_id
            )
            return earlier
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
