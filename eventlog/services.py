"""Appending to the event log: the transactional outbox of every write-side context."""

from contextvars import ContextVar
from typing import Any
from uuid import UUID

from django.db import transaction
from django.utils import timezone

from .models import Event
from .signals import events_committed

# The last position a request or task appended, for the X-Event-Position header.
last_appended_position: ContextVar[int | None] = ContextVar("last_appended_position", default=None)

# Any constant works; it only has to be the same for every writer of the log.
APPEND_LOCK_KEY = 7_274_115_205


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
    """Record an event in the caller's transaction; readers learn of it once that commits.

    Appends are serialised until commit (see ``_serialise_appends``), so positions become
    visible in order and a reader that has seen position N has seen everything below it. Append
    last in a transaction: a row lock taken after this one could deadlock with another writer.
    """
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        raise OutsideTransactionError(
            f"{type} must be appended inside the transaction of the change it records"
        )
    _serialise_appends(connection)
    event = Event.objects.create(
        aggregate_type=aggregate_type,
        aggregate_id=str(aggregate_id),
        type=type,
        data=data,
        saga_id=saga_id,
        occurred_at=timezone.now(),
    )
    last_appended_position.set(event.position)
    position = event.position
    transaction.on_commit(lambda: events_committed.send(sender=Event, position=position), robust=True)
    return event


def _serialise_appends(connection) -> None:
    """Hold one lock from the first append until commit, on PostgreSQL.

    A sequence hands out positions at insert, but transactions commit in any order: without
    this, a reader could see position 12 committed while 11 is still in flight, move its
    checkpoint past 11 and skip it for ever. SQLite needs nothing: its writers already queue for
    one database lock (IMMEDIATE transactions). The lock is re-entrant, so later appends in the
    same transaction pass straight through.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [APPEND_LOCK_KEY])


def event_log_head() -> int:
    """Position of the newest committed event, 0 when the log is empty."""
    last = Event.objects.order_by("-position").values_list("position", flat=True).first()
    return last or 0
