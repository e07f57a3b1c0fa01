"""The events the saga engine appends to the event log, one frozen record per type.

Each carries the saga's state after it, and the subject it drives (an order) is its correlation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar
from uuid import UUID

from eventlog.contracts import DomainEvent


@dataclass(frozen=True, kw_only=True)
class SagaEvent(DomainEvent):
    AGGREGATE: ClassVar[str] = "saga"
    saga_id: UUID
    type: str
    subject_id: UUID | None
    state: str
    current_step: str


@dataclass(frozen=True, kw_only=True)
class SagaStarted(SagaEvent):
    TYPE: ClassVar[str] = "SagaStarted"


@dataclass(frozen=True, kw_only=True)
class SagaStepStarted(SagaEvent):
    TYPE: ClassVar[str] = "SagaStepStarted"
    step: str
    direction: str


@dataclass(frozen=True, kw_only=True)
class SagaRetried(SagaEvent):
    TYPE: ClassVar[str] = "SagaRetried"
    actor: str
    step: str
    direction: str


@dataclass(frozen=True, kw_only=True)
class SagaStopped(SagaEvent):
    """The saga stopped going forward: it compensates, or it ended."""

    failure_code: str
    failure_detail: str


@dataclass(frozen=True, kw_only=True)
class SagaCompensationStarted(SagaStopped):
    TYPE: ClassVar[str] = "SagaCompensationStarted"


@dataclass(frozen=True, kw_only=True)
class SagaCompleted(SagaStopped):
    TYPE: ClassVar[str] = "SagaCompleted"


@dataclass(frozen=True, kw_only=True)
class SagaCompensated(SagaStopped):
    TYPE: ClassVar[str] = "SagaCompensated"


@dataclass(frozen=True, kw_only=True)
class SagaFailed(SagaStopped):
    TYPE: ClassVar[str] = "SagaFailed"


SAGA_EVENTS: tuple[type[SagaEvent], ...] = (
    SagaStarted,
    SagaStepStarted,
    SagaRetried,
    SagaCompensationStarted,
    SagaCompleted,
    SagaCompensated,
    SagaFailed,
)
