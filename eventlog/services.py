"""Appending to the event log: the transactional outbox of every write-side context."""

import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any
from uuid import UUID

from django.db import connections, transaction
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

# How often a reader waiting for its positions to settle looks again (``SettledLog.head``).
SETTLE_POLL_SECONDS = (0.001, 0.02)


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

    Writers append concurrently, so positions commit out of order: readers take only what
    ``SettledLog`` says can no longer change. Inside ``appends_last`` the event is written when
    the block ends, and None is returned.
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
    step's outcome and then the next step): the block's events cost one ``INSERT`` and one
    announcement after commit, however many there are, and their positions are taken as late
    as they can be, which keeps the window in which readers wait for them short. Nested blocks
    leave the writing to the outermost; an exception writes nothing.
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
    _take_transaction_id(connection)
    # Stamped when written, not when the service asked to append (an ``appends_last`` block asks
    # early and writes late): the time is then within milliseconds of the commit.
    occurred_at = timezone.now()
    events = Event.objects.bulk_create([Event(**fields, occurred_at=occurred_at) for fields in appends])
    position = events[-1].position
    last_appended_position.set(position)
    transaction.on_commit(lambda: events_committed.send(sender=Event, position=position), robust=True)
    return events


def _take_transaction_id(connection) -> None:
    """Have PostgreSQL give the transaction its id before it takes a position.

    ``SettledLog`` relies on it: a position handed out before the reader looked belongs to a
    transaction that already had an id then. A transaction that has changed a row has one
    already; one whose first write is this ``INSERT`` would get it after its positions. SQLite
    needs nothing: its writers queue for one database lock, so positions commit in order.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_current_xact_id()")


def event_log_head() -> int:
    """Position of the newest committed event, 0 when the log is empty."""
    last = Event.objects.order_by("-position").values_list("position", flat=True).first()
    return last or 0


class SettledLog:
    """The positions of the log that can no longer change: each has committed, or never will.

    Writers commit in any order, so position 12 may be visible while 11 is still in flight; a
    reader that moved past 11 would skip it for ever. A reader therefore takes only positions up
    to a settled head. Each look reads the last position the sequence handed out, then the
    transactions running on the log's database: every position up to that value belongs to a
    transaction that already had its id (``_take_transaction_id``), so it is one of them or has
    ended. Once all of them have ended, every one of those positions is visible or abandoned
    (rolled back, or skipped by the sequence after a crash). Unlike a lock, this never makes
    writers wait for each other; a transaction on the log's database that stays open long holds
    readers back instead.

    Keep one per reader: looks that have not settled yet are remembered and settle at a later
    look, so a reader that looks often never waits. Transactions the reading thread itself has
    open on the same server (a test that writes and projects in one) do not count: they cannot
    end while it waits, and it sees its own rows. Prepared (two-phase) transactions are not
    seen; nothing here prepares one.
    """

    def __init__(self):
        self._pending: deque[tuple[int, frozenset[int]]] = deque()
        self._settled = 0

    def head(self, *, wait: float = 0.0) -> int:
        """The highest settled position; with ``wait``, up to that many seconds for the
        positions handed out by now to settle."""
        connection = connections[Event.objects.db]
        if connection.vendor != "postgresql":
            return event_log_head()
        handed_out = self._handed_out(connection)
        self._settle(connection, handed_out)
        deadline, pause = time.monotonic() + wait, SETTLE_POLL_SECONDS[0]
        while self._pending and time.monotonic() < deadline:
            time.sleep(pause)
            pause = min(pause * 2, SETTLE_POLL_SECONDS[1])
            self._settle(connection, None)
        return self._settled

    def _handed_out(self, connection) -> int:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_sequence_last_value(pg_get_serial_sequence(%s, 'position'))",
                [Event._meta.db_table],
            )
            return cursor.fetchone()[0] or 0

    def _settle(self, connection, handed_out: int | None) -> None:
        """Remember ``handed_out`` with the transactions running now, and settle every look
        whose transactions have all ended."""
        with connection.cursor() as cursor:
            if connection.in_atomic_block:
                # The activity view is read once per transaction; a look needs it as it is now.
                cursor.execute("SELECT pg_stat_clear_snapshot()")
            # Every transaction's id, including those handed out after the newest one to end,
            # which a snapshot's list of running transactions leaves out.
            cursor.execute(
                "SELECT backend_xid::text::bigint FROM pg_stat_activity"
                " WHERE datname = current_database() AND backend_xid IS NOT NULL"
                " AND pid <> ALL(%s)",
                [_own_sessions(connection)],
            )
            running = frozenset(row[0] for row in cursor.fetchall())
        newest = self._pending[-1][0] if self._pending else self._settled
        if handed_out is not None and handed_out > newest:
            self._pending.append((handed_out, running))
        for position, waited_for in self._pending:
            if not waited_for & running:
                self._settled = max(self._settled, position)
        while self._pending and self._pending[0][0] <= self._settled:
            self._pending.popleft()


def _own_sessions(log_connection) -> list[int]:
    """The server processes of this thread's connections to the log's server that may have a
    transaction open: the log's own connection, and any inside an atomic block."""
    server = (log_connection.settings_dict["HOST"], log_connection.settings_dict["PORT"])
    return [
        connection.connection.info.backend_pid
        for connection in connections.all(initialized_only=True)
        if connection.vendor == "postgresql"
        and connection.connection is not None
        and (connection is log_connection or connection.in_atomic_block)
        and (connection.settings_dict["HOST"], connection.settings_dict["PORT"]) == server
    ]
