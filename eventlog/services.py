"""Appending to the event log: the transactional outbox of every write-side context."""

from contextvars import ContextVar
from typing import Any
from uuid import UUID

from django.db import transaction

from .models import Event

# The last position a request or task appended, for the X-Event-Position header.
last_appended_position: ContextVar[int | None] = ContextVar("last_appended_position", default=None)


class OutsideTransactionError(RuntimeError):
    """An event was appended outside a transaction, so it could commit without its state change."""


def event_append(
    *,
    aggregate_type: str,
    aggregate_id: str | UUID,
    type: str,
    data: dict[str, Any],
    saga_id: UUID | None = None,
) -> Event:
    if not transaction.get_connection().in_atomic_block:
        raise OutsideTransactionError(
            f"{type} must be appended inside the transaction of the change it records"
        )
    event = Event.objects.create(
        aggregate_type=aggregate_type,
        aggregate_id=str(aggregate_id),
        type=type,
        data=data,
        saga_id=saga_id,
    )
    last_appended_position.set(event.position)
    return event


def event_log_head() -> int:
    """Position of the newest event, 0 when the log is empty."""
    last = Event.objects.order_by("-position").values_list("position", flat=True).first()
    return last or 0
