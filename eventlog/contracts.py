"""The base of what a context appends to the event log: a frozen dataclass per event type, in
the context's own ``events.py``, turned into JSON when appended and checked on the way back.

The type says what happened (``TYPE``) and to which kind of aggregate (``AGGREGATE``); the fields
are its data. A reader that knows the class gets the event back field by field (UUIDs, decimals
and nested records as such), or ``MalformedEvent`` naming the wrong field, never half of one.
"""

from __future__ import annotations

from typing import Any, ClassVar, Self

import msgspec


class MalformedEvent(ValueError):
    """A stored event whose data does not fit its type's fields."""


class DomainEvent:
    """Subclasses are frozen dataclasses; ``TYPE`` names them in the log, ``AGGREGATE`` names
    the kind of thing whose change they record."""

    TYPE: ClassVar[str]
    AGGREGATE: ClassVar[str]

    def to_data(self) -> dict[str, Any]:
        return msgspec.to_builtins(self)

    @classmethod
    def from_data(cls, data: Any) -> Self:
        try:
            return msgspec.convert(data, type=cls)
        except msgspec.ValidationError as error:
            raise MalformedEvent(f"{cls.TYPE}: {error}") from error
