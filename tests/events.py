"""Events of no context, for tests of the event log itself and of what the read side skips."""

from dataclasses import dataclass
from typing import ClassVar

from eventlog.contracts import DomainEvent


@dataclass(frozen=True, kw_only=True)
class Probed(DomainEvent):
    TYPE: ClassVar[str] = "ProbeRecorded"
    AGGREGATE: ClassVar[str] = "probe"
    n: int = 0


@dataclass(frozen=True, kw_only=True)
class Ticked(DomainEvent):
    TYPE: ClassVar[str] = "Ticked"
    AGGREGATE: ClassVar[str] = "clock"


@dataclass(frozen=True, kw_only=True)
class SomethingNew(DomainEvent):
    """A type the read side does not know yet: a newer writer's, say."""

    TYPE: ClassVar[str] = "SomethingNew"
    AGGREGATE: ClassVar[str] = "mystery"
