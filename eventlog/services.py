"""Appending to the event log: the transactional outbox of every write-side context."""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any
from uuid import UUID

from django.db import transaction
from django.utils import timezone

from .contracts import DomainEvent
from .models import Event
from .signals import events_committed

# The last position a request or task appended, for the X-Event-Position header.
last_appended_position: ContextVar[int | None] = ContextVar("last_appended_position", default=None)

# What the events appended now are caused by (a saga step's attempt), set by ``caused_by``.
_causation_id: ContextVar[str] = ContextVar("causation_id", default="")

# Inside ``appends_last``: the appends waiting for the end of the block.
_held_back: ContextVar[list[dict[str, Any]] | None] = ContextVar("held_back_appends", default=None)

# Any constant works; it only has to be the same for every writer of the log.
APPEND_LOCK_KEY = 7_274_115_205


class OutsideTransactionError(RuntimeError):
    """An event was appended outside a transaction, so it could commit without its state change."""


def event_append(
    event: DomainEvent,
    *,
    aggregate_id: str | UUID,
    correlation_id: UUID | None = None,
    saga_id: UUID | None = None,
) -> Event | None:
    """Record ``event`` of the aggregate ``aggregate_id`` in the caller's transaction; readers
    learn of it once that commits. ``correlation_id`` names what the change was part of (the
    order whose saga changed a reservation); the cause is whatever ``caused_by`` names.

    Appends are serialised until commit (see ``_serialise_appends``), so positions become
    visible in order and a reader that has seen position N has seen everything below it. Append
    last in a transaction, or inside ``appends_last``: every statement after the first append
    makes all other writers wait, and a row lock taken after it could deadlock with one of them.
    Inside ``appends_last`` the event is written when the block ends, and None is returned.
    """
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        raise OutsideTransactionError(
            f"{event.TYPE} must be appended inside the transaction of the change it records"
        )
    fields = {
        "aggregate_type": event.AGGREGATE,
        "aggregate_id": str(aggregate_id),
        "type": event.TYPE,
        "data": event.to_data(),
        "saga_id": saga_id,
        "correlation_id": correlation_id,
        "causation_id": _causation_id.get(),
    }
    held_back = _held_back.get()
    if held_back is not None:
        held_back.append(fields)
        return None
    return _write(connection, [fields])[0]


@contextmanager
def caused_by(causation_id: str) -> Iterator[None]:
    """Events appended inside the block name ``causation_id`` as their cause: the saga step's
    attempt whose handler and outcome they record, without the handler knowing of sagas."""
    token = _causation_id.set(causation_id)
    try:
        yield
    finally:
        _causation_id.reset(token)


@contextmanager
def appends_last() -> Iterator[None]:
    """Hold back the block's appends and write them, in order, as its last statements.

    For a transaction that appends early and writes rows after (an order and then its saga, a
    step's outcome and then the next step): the log's lock is then held only from the block's
    end to commit, and the block's events cost one lock, one ``INSERT`` and one announcement
    after commit, however many there are. Nested blocks leave the writing to the outermost; an
    exception writes nothing.
    """
    if _held_back.get() is not None:
        yield
        return
    held_back: list[dict[str, Any]] = []
    token = _held_back.set(held_back)
    try:
        yield
    finally:
        _held_back.reset(token)
    if held_back:
        _write(transaction.get_connection(), held_back)


def _write(connection, appends: list[dict[str, Any]]) -> list[Event]:
    _serialise_appends(connection)
    # Stamped holding the lock, not when the service asked to append (an ``appends_last`` block
    # asks early and writes late): times then grow with positions, whichever writer came first.
    occurred_at = timezone.now()
    events = Event.objects.bulk_create([Event(**fields, occurred_at=occurred_at) for fields in appends])
    position = events[-1].position
    last_appended_position.set(position)
    transaction.on_commit(lambda: events_committed.send(sender=Event, position=position), robust=True)
    return events


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
