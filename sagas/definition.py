"""How a saga is declared: an ordered list of steps, each a participant's command by task name.

A definition reads like the business process it runs; the engine (``sagas.engine``) knows
nothing else about the domain.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum

from django.conf import settings


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
class Step:
    """One step: its command (a Celery task name), the command that undoes it, the error codes
    that are business failures (compensate now; any other error is retried), and a deadline
    per attempt after which the sweeper counts the attempt as lost.

    A first step whose ``action`` is None was carried out by the command that started the saga,
    in the same transaction (placing the order); it is there so that its compensation runs last.
    """

    name: str
    action: str | None
    compensation: str | None = None
    business_failures: frozenset[str] = frozenset()
    retry: RetryPolicy = field(default_factory=RetryPolicy.for_steps)
    compensation_retry: RetryPolicy = field(default_factory=RetryPolicy.for_compensations)
    deadline: timedelta | None = None

    @property
    def compensation_name(self) -> str:
        """Compensation steps are recorded under their command's name, e.g. ``release_stock``."""
        return self.compensation.rsplit(".", 1)[-1] if self.compensation else ""

    def attempt_deadline(self) -> timedelta:
        return self.deadline or default_step_deadline()


@dataclass(frozen=True)
class SagaDefinition:
    type: str
    steps: tuple[Step, ...]
    recovery: Recovery = Recovery.BACKWARD

    def __post_init__(self):
        names = [step.name for step in self.steps]
        if len(set(names)) != len(names):
            raise ValueError(f"{self.type}: step names must be unique")
        if not self.steps:
            raise ValueError(f"{self.type}: a saga needs at least one step")
        # The starting command can only have done the first step: a later step without an
        # action would be recorded as done without anyone doing it.
        unsent = [step.name for step in self.steps[1:] if step.action is None]
        if unsent:
            raise ValueError(f"{self.type}: only the first step may lack an action, not {', '.join(unsent)}")

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
