"""The participant's half of the protocol: carry out a saga command once, answer every time.

A participant declares a task with ``@participant("inventory.reserve_stock")``; its handler
runs one local transaction and returns a ``StepResult``. The wrapper makes it idempotent on
``(saga_id, step, direction)``: the handler's changes and a ``StepReceipt`` commit together, and
a redelivered command (late acknowledgement, a sweeper re-send) finds the receipt and answers
what it answered before. The reply leaves only after that commit.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from celery import shared_task
from django.db import DatabaseError, IntegrityError, transaction

from eventlog.services import appends_last

from . import failpoints
from .engine import REPLY_TASK, Outcome, publish
from .models import StepReceipt

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class StepResult:
    succeeded: bool
    result: dict[str, Any] = field(default_factory=dict)
    error_code: str = ""
    error: str = ""

    @classmethod
    def ok(cls, result: dict[str, Any] | None = None) -> StepResult:
        return cls(True, result or {})

    @classmethod
    def failed(cls, error_code: str, error: str) -> StepResult:
        return cls(False, {}, error_code, error)


Handler = Callable[..., StepResult]


def participant(task_name: str) -> Callable[[Handler], Any]:
    """Turn ``handler(*, saga_id, step, data) -> StepResult`` into the Celery task ``task_name``."""

    def decorator(handler: Handler):
        @shared_task(name=task_name, ignore_result=True)
        def run(*, saga_id: str, step: str, direction: str, attempt: int, data: dict[str, Any]) -> None:
            command = Command(task_name, UUID(saga_id), step, direction, attempt, data)
            reply_to(command, execute_once(handler, command))

        run.handler = handler
        return run

    return decorator


@dataclass(frozen=True)
class Command:
    task: str
    saga_id: UUID
    step: str
    direction: str
    attempt: int
    data: dict[str, Any]


@dataclass(frozen=True)
class Reply:
    outcome: Outcome
    result: dict[str, Any] = field(default_factory=dict)
    error_code: str = ""
    error: str = ""


def execute_once(handler: Handler, command: Command) -> Reply:
    """Run the handler at most once per (saga, step, direction) and return the answer to send."""
    try:
        failpoints.raise_if_failing(command.task)
        try:
            return _execute_in_transaction(handler, command)
        except IntegrityError:
            # A concurrent delivery of the same command committed first: answer from its receipt.
            return _execute_in_transaction(handler, command)
    except failpoints.InjectedFault as fault:
        return Reply(Outcome.TRANSIENT, error=str(fault))
    except DatabaseError as error:
        logger.warning("%s for saga %s: transient database error: %s", command.task, command.saga_id, error)
        return Reply(Outcome.TRANSIENT, error=f"{type(error).__name__}: {error}")
    except Exception as error:
        logger.exception("%s for saga %s failed unexpectedly", command.task, command.saga_id)
        return Reply(Outcome.TRANSIENT, error=f"{type(error).__name__}: {error}")


def _execute_in_transaction(handler: Handler, command: Command) -> Reply:
    # The handler's events are written after its receipt, as the transaction's last statements.
    with transaction.atomic(), appends_last():
        receipt = StepReceipt.objects.filter(
            saga_id=command.saga_id, step=command.step, direction=command.direction
        ).first()
        if receipt is None:
            outcome = handler(saga_id=command.saga_id, step=command.step, data=command.data)
            receipt = StepReceipt.objects.create(
                saga_id=command.saga_id,
                step=command.step,
                direction=command.direction,
                task=command.task,
                succeeded=outcome.succeeded,
                result=outcome.result,
                error_code=outcome.error_code,
                error=outcome.error,
            )
        else:
            logger.info(
                "%s for saga %s already done; answering from its receipt", command.task, command.saga_id
            )
    return Reply(
        Outcome.SUCCEEDED if receipt.succeeded else Outcome.FAILED,
        result=receipt.result,
        error_code=receipt.error_code,
        error=receipt.error,
    )


def reply_to(command: Command, reply: Reply) -> None:
    publish(
        REPLY_TASK,
        {
            "saga_id": str(command.saga_id),
            "step": command.step,
            "direction": command.direction,
            "attempt": command.attempt,
            "outcome": reply.outcome.value,
            "result": reply.result,
            "error_code": reply.error_code,
            "error": reply.error,
        },
    )
