"""How a saga is declared: its data, and an ordered list of steps, each the command it sends.

A definition reads like the business process it runs; the engine (``sagas.engine``) knows
nothing else about the domain.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from typing import Any

from django.conf import settings

from .contracts import Command, load


def default_step_deadline() -> timedelta:
    return timedelta(seconds=settings.SAGA_STEP_DEADLINE_SECONDS)


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter for transient errors, up to ``max_attempts`` sends."""

    max_attempts: int
    base_delay: float
    max_delay: float = 30.0

    @classmethod
    def for_steps(cls) -> RetryPolicy:
        return cls(settings.SAGA_STEP_MAX_ATTEMPTS, settings.SAGA_RETRY_BASE_DELAY_SECONDS)

    @classmethod
    def for_compensations(cls) -> RetryPolicy:
        return cls(settings.SAGA_COMPENSATION_MAX_ATTEMPTS, settings.SAGA_RETRY_BASE_DELAY_SECONDS)

    def delay_before(self, attempt: int) -> float:
        """Seconds to wait before send number ``attempt`` (the first send waits nothing)."""
        if attempt <= 1:
            return 0.0
        ceiling = min(self.max_delay, self.base_delay * 2 ** (attempt - 2))
        return random.uniform(0, ceiling)


class Recovery(StrEnum):
    """What happens when a step cannot succeed.

    BACKWARD: compensate what was done, newest first (a place-order saga rejects the order).
    FORWARD: the saga must go through (a cancellation); it stops FAILED for a person to resume.
    """

    BACKWARD = "BACKWARD"
    FORWARD = "FORWARD"


@dataclass(frozen=True)
class SagaFailure:
    """Why a saga is compensating: its code, the words a customer may see, and the step.

    A saga whose data declares a field ``failure: SagaFailure | None`` gets it filled when
    compensation starts, so that a compensation's command can carry the reason.
    """

    code: str
    detail: str
    step: str


# A classmethod of a ``sagas.contracts.Command`` that builds the command from the saga's data,
# e.g. ``ReserveStock.for_order``.
CommandBuilder = Callable[[Any], Command]


def _task_of(builder: CommandBuilder | None) -> str | None:
    if builder is None:
        return None
    command_class = getattr(builder, "__self__", None)
    if not (isinstance(command_class, type) and issubclass(command_class, Command)):
        raise ValueError(f"{builder!r} must be a classmethod of a Command, e.g. ReserveStock.for_order")
    return command_class.TASK


@dataclass(frozen=True)
class Step:
    """One step: the command it sends (built from the saga's data), the command that undoes it,
    the error codes that are business failures (compensate now; any other error is retried),
    and a deadline per attempt after which the sweeper counts the attempt as lost.

    A first step whose ``command`` is None was carried out by the command that started the saga,
    in the same transaction (placing the order); it is there so that its compensation runs last.
    """

    name: str
    command: CommandBuilder | None
    compensation: CommandBuilder | None = None
    business_failures: frozenset[str] = frozenset()
    retry: RetryPolicy = field(default_factory=RetryPolicy.for_steps)
    compensation_retry: RetryPolicy = field(default_factory=RetryPolicy.for_compensations)
    deadline: timedelta | None = None

    def __post_init__(self):
        _task_of(self.command)
        _task_of(self.compensation)

    @property
    def action(self) -> str | None:
        """The task that carries the step out."""
        return _task_of(self.command)

    @property
    def compensation_task(self) -> str | None:
        return _task_of(self.compensation)

    @property
    def compensation_name(self) -> str:
        """Compensation steps are recorded under their command's name, e.g. ``release_stock``."""
        task = self.compensation_task
        return task.rsplit(".", 1)[-1] if task else ""

    def attempt_deadline(self) -> timedelta:
        return self.deadline or default_step_deadline()


@dataclass(frozen=True)
class SagaDefinition:
    """A saga type: its data (a frozen dataclass, kept as JSON on the saga), its steps in order,
    and what happens when a step cannot succeed."""

    type: str
    data: type
    steps: tuple[Step, ...]
    recovery: Recovery = Recovery.BACKWARD

    def __post_init__(self):
        names = [step.name for step in self.steps]
        if len(set(names)) != len(names):
            raise ValueError(f"{self.type}: step names must be unique")
        if not self.steps:
            raise ValueError(f"{self.type}: a saga needs at least one step")
        # The starting command can only have done the first step: a later step without a
        # command would be recorded as done without anyone doing it.
        unsent = [step.name for step in self.steps[1:] if step.command is None]
        if unsent:
            raise ValueError(f"{self.type}: only the first step may lack a command, not {', '.join(unsent)}")

    def load(self, data: dict[str, Any]) -> Any:
        """The saga's stored data as its declared type."""
        return load(self.data, data, what=f"{self.type} saga data")

    def step(self, name: str) -> Step:
        for step in self.steps:
            if step.name == name:
                return step
        raise KeyError(f"{self.type} has no step {name!r}")

    def index_of(self, name: str) -> int:
        return [step.name for step in self.steps].index(name)

    def step_for_compensation(self, compensation_name: str) -> Step:
        for step in self.steps:
            if step.compensation_name == compensation_name:
                return step
        raise KeyError(f"{self.type} has no compensation {compensation_name!r}")

    def tasks(self) -> set[str]:
        """Every participant task the saga sends, forward and compensating."""
        return {task for step in self.steps for task in (step.action, step.compensation_task) if task}


_registry: dict[str, SagaDefinition] = {}


def register(definition: SagaDefinition) -> SagaDefinition:
    """Make a definition known to the engine by its type; contexts register theirs at import."""
    existing = _registry.get(definition.type)
    if existing is not None and existing != definition:
        raise ValueError(f"two different saga definitions named {definition.type!r}")
    _registry[definition.type] = definition
    return definition


def definition_for(saga_type: str) -> SagaDefinition:
    return _registry[saga_type]


def registered_types() -> list[str]:
    return sorted(_registry)
