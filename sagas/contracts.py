"""The base of what crosses a context's boundary as a saga command: a frozen dataclass naming
its Celery task, turned into JSON at the broker edge and checked field by field on arrival.

Each context declares its own in ``<context>/contracts.py``; msgspec does the conversion both
ways (UUIDs and decimals as strings, nested records as objects) and the checking, which is
where a hand-written parser would go wrong.
"""

from __future__ import annotations

from typing import Any, ClassVar, Self, TypeVar

import msgspec

from .protocol import MalformedMessage

Record = TypeVar("Record")


class Command:
    """Subclasses are frozen dataclasses; ``TASK`` is the participant task that carries it out."""

    TASK: ClassVar[str]

    def to_data(self) -> dict[str, Any]:
        return msgspec.to_builtins(self)

    @classmethod
    def from_data(cls, data: Any) -> Self:
        return load(cls, data, what=cls.TASK)


def load(kind: type[Record], data: Any, *, what: str) -> Record:
    """``data`` (decoded JSON) as a ``kind``, or ``MalformedMessage`` saying which field is wrong."""
    try:
        return msgspec.convert(data, type=kind)
    except msgspec.ValidationError as error:
        raise MalformedMessage(f"{what}: {error}") from error


def dump(record: Any) -> dict[str, Any]:
    return msgspec.to_builtins(record)
