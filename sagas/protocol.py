"""The saga protocol: what the engine sends a participant, what comes back, and what is kept.

Engine and participant toolkit both speak it, and nothing else knows the message format: a
message is built here and read here, and one that does not parse is refused as a whole
(``MalformedMessage``), never half-applied.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any
from uuid import UUID

from .models import Direction, StepReceipt

REPLY_TASK = "sagas.record_reply"


class Outcome(StrEnum):
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"  # a business failure the step declares: final, the saga compensates
    TRANSIENT = "TRANSIENT"  # anything else that went wrong: nothing kept, the step is retried


class MalformedMessage(ValueError):
    """A saga message that is missing a field or carries one of the wrong kind."""


@dataclass(frozen=True)
class StepResult:
    """A participant's answer to one command.

    Only final answers are kept in a step receipt and replayed to a redelivered command:
    success, and a failure whose code the step declares as a business failure. Any other
    failure is transient, and the next attempt runs the handler again.
    """

    outcome: Outcome
    result: dict[str, Any] = field(default_factory=dict)
    error_code: str = ""
    error: str = ""

    @classmethod
    def ok(cls, result: dict[str, Any] | None = None) -> StepResult:
        return cls(Outcome.SUCCEEDED, result or {})

    @classmethod
    def failed(cls, error_code: str, error: str) -> StepResult:
        return cls(Outcome.FAILED, {}, error_code, error)

    @classmethod
    def transient(cls, error: str, error_code: str = "") -> StepResult:
        return cls(Outcome.TRANSIENT, {}, error_code, error)

    def is_final_for(self, command: StepCommand) -> bool:
        return self.outcome == Outcome.SUCCEEDED or (
            self.outcome == Outcome.FAILED and self.error_code in command.business_failures
        )


@dataclass(frozen=True)
class StepCommand:
    """One attempt at one step (or compensation) of one saga, as sent to its participant."""

    task: str
    saga_id: UUID
    step: str
    direction: Direction
    attempt: int
    data: dict[str, Any]
    business_failures: frozenset[str] = frozenset()

    def to_message(self) -> dict[str, Any]:
        return {
            "saga_id": str(self.saga_id),
            "step": self.step,
            "direction": self.direction.value,
            "attempt": self.attempt,
            "data": self.data,
            "business_failures": sorted(self.business_failures),
        }

    @classmethod
    def from_message(cls, task: str, message: dict[str, Any]) -> StepCommand:
        with _parsing(task, message):
            return cls(
                task=task,
                saga_id=UUID(message["saga_id"]),
                step=_text(message["step"]),
                direction=Direction(message["direction"]),
                attempt=int(message["attempt"]),
                data=_mapping(message["data"]),
                business_failures=frozenset(map(_text, message.get("business_failures", ()))),
            )

    def reply(self, result: StepResult) -> StepReply:
        return StepReply(self.saga_id, self.step, self.direction, self.attempt, result)

    @property
    def causation_id(self) -> str:
        """The step attempt, as the events it causes name it."""
        return attempt_id(self.saga_id, self.step, self.direction, self.attempt)


@dataclass(frozen=True)
class StepReply:
    """A participant's answer, addressed to the attempt it answers."""

    saga_id: UUID
    step: str
    direction: Direction
    attempt: int
    result: StepResult

    def to_message(self) -> dict[str, Any]:
        return {
            "saga_id": str(self.saga_id),
            "step": self.step,
            "direction": self.direction.value,
            "attempt": self.attempt,
            "outcome": self.result.outcome.value,
            "result": self.result.result,
            "error_code": self.result.error_code,
            "error": self.result.error,
        }

    @property
    def causation_id(self) -> str:
        return attempt_id(self.saga_id, self.step, self.direction, self.attempt)

    @classmethod
    def from_message(cls, message: dict[str, Any]) -> StepReply:
        with _parsing(REPLY_TASK, message):
            return cls(
                saga_id=UUID(message["saga_id"]),
                step=_text(message["step"]),
                direction=Direction(message["direction"]),
                attempt=int(message["attempt"]),
                result=StepResult(
                    Outcome(message["outcome"]),
                    _mapping(message.get("result", {})),
                    _text(message.get("error_code", "")),
                    _text(message.get("error", "")),
                ),
            )


def attempt_id(saga_id: UUID, step: str, direction: Direction, attempt: int) -> str:
    return f"{saga_id}/{step}/{direction.value}/{attempt}"


@contextmanager
def _parsing(task: str, message: Any) -> Iterator[None]:
    """Turn any parsing error into a ``MalformedMessage`` that names the task and the saga."""
    if not isinstance(message, dict):
        raise MalformedMessage(f"{task}: a message must be an object, not {type(message).__name__}")
    try:
        yield
    except (KeyError, ValueError, TypeError) as error:
        raise MalformedMessage(
            f"{task} for saga {message.get('saga_id', '?')}: {type(error).__name__}: {error}"
        ) from error


def find_receipt(command: StepCommand) -> StepResult | None:
    """The final answer given to this command before, if any (call inside the transaction)."""
    receipt = StepReceipt.objects.filter(
        saga_id=command.saga_id, step=command.step, direction=command.direction
    ).first()
    if receipt is None:
        return None
    outcome = Outcome.SUCCEEDED if receipt.succeeded else Outcome.FAILED
    return StepResult(outcome, receipt.result, receipt.error_code, receipt.error)


def keep_receipt(command: StepCommand, result: StepResult) -> None:
    """Keep a final answer in the transaction of the change it reports; the unique key makes a
    concurrent delivery of the same command fail here instead of acting twice."""
    if not result.is_final_for(command):
        raise ValueError(f"only final answers are kept, not {result.outcome} {result.error_code}")
    StepReceipt.objects.create(
        saga_id=command.saga_id,
        step=command.step,
        direction=command.direction,
        task=command.task,
        succeeded=result.outcome == Outcome.SUCCEEDED,
        result=result.result,
        error_code=result.error_code,
        error=result.error,
    )


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {type(value).__name__}")
    return value


def _mapping(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise TypeError(f"expected an object, got {type(value).__name__}")
    return value
