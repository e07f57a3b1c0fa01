"""Running projectors: apply committed events past each checkpoint, exactly once.

Exactly once: a projector's rows and its checkpoint commit in one read-database transaction,
so an event is either applied and counted or neither. Two processes never apply the same
events: each locks the checkpoint rows it works on (``SKIP LOCKED``), and one that finds them
taken leaves the work to the holder, which looks again for newer events after it commits.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from eventlog.contracts import DomainEvent
from eventlog.models import Event
from eventlog.services import SettledLog, event_log_head

from .models import ProjectorCheckpoint
from .projectors.base import READ_ALIAS, Projector
from .recorded import Recorded

logger = logging.getLogger(__name__)

BATCH_SIZE = 500
# How long a run that is not told how far to read waits for what has been committed to settle
# (``SettledLog``): the transactions in flight when it looks, usually a few milliseconds.
SETTLE_SECONDS = 1.0


@dataclass
class RunReport:
    applied: int = 0
    failed: tuple[str, ...] = ()


def ensure_checkpoints(projectors: Sequence[Projector]) -> int:
    """Create missing checkpoints, one query when none is missing; how many were created."""
    names = {projector.name for projector in projectors}
    existing = set(
        ProjectorCheckpoint.objects.filter(projector__in=names).values_list("projector", flat=True)
    )
    created = 0
    for name in names - existing:
        created += ProjectorCheckpoint.objects.get_or_create(projector=name)[1]
    return created


def run_pending(
    projectors: Sequence[Projector],
    known: Mapping[str, type[DomainEvent]],
    *,
    rescue: bool = False,
    through: int | None = None,
) -> RunReport:
    """Apply everything committed that the projectors have not applied yet, or with ``through``
    everything up to that settled position (a runner that watches the head itself comes back
    for what was committed since, in one batch rather than one per commit).

    ``known`` is every event type the read side reads, by name: only those are read from the
    log; any other is skipped and counted. A projector that fails is left at its last good
    position (its error recorded) and not tried again in this run, so the others carry on; the
    periodic catch-up tries it again later. ``rescue`` counts what this run applies on each
    checkpoint's ``rescued_events``: the safety net says what it covered for, so a test or an
    operator can tell a healthy run from a rescued one.
    """
    report = RunReport()
    active = list(projectors)
    settled = None if through is not None else SettledLog()
    upto = through if settled is None else settled.head(wait=SETTLE_SECONDS)
    while active:
        applied, failed, more = _run_batch(active, known, rescue, upto)
        report.applied += applied
        if failed:
            report.failed += tuple(failed)
            active = [projector for projector in active if projector.name not in failed]
        if not more and settled is not None:
            # Events committed while this batch ran may have been left to us by a process that
            # found the checkpoints locked: look again until nothing newer has settled.
            newer = settled.head(wait=SETTLE_SECONDS)
            more, upto = newer > upto, newer
        if not more:
            break
    return report


@dataclass
class _Batch:
    """What one batch read: the checkpoints it holds, the events it applies, the position every
    checkpoint moves to, the events of types nobody here reads (skipped, counted), and whether
    it stopped short of the position it was asked to read to."""

    checkpoints: dict[str, ProjectorCheckpoint]
    events: list[Recorded]
    upto: int
    unknown: list[tuple[int, str]]
    full: bool

    def pending(self, projector: Projector, checkpoint: ProjectorCheckpoint) -> list[Recorded]:
        return [
            recorded
            for recorded in self.events
            if recorded.position > checkpoint.position and projector.handler_for(recorded.type)
        ]

    def unknown_after(self, checkpoint: ProjectorCheckpoint) -> int:
        return sum(1 for position, _ in self.unknown if position > checkpoint.position)


def _run_batch(
    projectors: Sequence[Projector], known, rescue: bool, upto: int
) -> tuple[int, list[str], bool]:
    try:
        return _run_batch_together(projectors, known, rescue, upto)
    except Exception:
        # Some projector failed and took the whole batch back with it: go again with each one
        # in a savepoint of its own, so the failing one is recorded and the others move on.
        return _run_batch_isolated(projectors, known, rescue, upto)


def _run_batch_together(projectors, known, rescue, upto: int) -> tuple[int, list[str], bool]:
    """The usual case: every projector applies its events and every checkpoint moves, in one
    transaction without savepoints, the checkpoints in one UPDATE."""
    with transaction.atomic(using=READ_ALIAS):
        batch = _lock_and_read(projectors, known, upto)
        if batch is None:
            return 0, [], False
        applied, moved, counters = 0, [], {}
        for projector in projectors:
            checkpoint = batch.checkpoints.get(projector.name)
            if checkpoint is None or checkpoint.position >= batch.upto:
                continue
            pending = batch.pending(projector, checkpoint)
            if pending:
                projector.apply_batch(pending)
                applied += len(pending)
            moved.append(projector.name)
            counters[projector.name] = _counters(batch.unknown_after(checkpoint), len(pending), rescue)
        if moved:
            ProjectorCheckpoint.objects.filter(projector__in=moved).update(
                position=batch.upto,
                updated_at=timezone.now(),
                last_error="",
                last_error_position=None,
            )
        for name, changes in counters.items():
            if changes:
                ProjectorCheckpoint.objects.filter(projector=name).update(**changes)
    _warn_unknown(batch)
    return applied, [], batch.full


def _counters(unknown: int, applied: int, rescue: bool) -> dict:
    changes = {}
    if unknown:
        changes["unknown_events"] = F("unknown_events") + unknown
    if rescue and applied:
        changes["rescued_events"] = F("rescued_events") + applied
    return changes


def _run_batch_isolated(projectors, known, rescue, upto: int) -> tuple[int, list[str], bool]:
    with transaction.atomic(using=READ_ALIAS):
        batch = _lock_and_read(projectors, known, upto)
        if batch is None:
            return 0, [], False
        applied, failed = 0, []
        for projector in projectors:
            checkpoint = batch.checkpoints.get(projector.name)
            if checkpoint is None or checkpoint.position >= batch.upto:
                continue
            pending = batch.pending(projector, checkpoint)
            if _apply(projector, checkpoint, pending, batch, rescue):
                applied += len(pending)
            else:
                failed.append(projector.name)
    _warn_unknown(batch)
    return applied, failed, batch.full


def _lock_and_read(projectors, known: Mapping[str, type[DomainEvent]], upto: int) -> _Batch | None:
    checkpoints = _lock_checkpoints(projectors)
    # Fewer than asked for: another process holds some (it will apply what we would have), or
    # they do not exist yet (a new database).
    if len(checkpoints) < len(projectors) and ensure_checkpoints(projectors):
        checkpoints = _lock_checkpoints(projectors)
    if not checkpoints:
        return None
    since = min(checkpoint.position for checkpoint in checkpoints.values())
    events, upto, unknown, full = read_log(since, upto, known)
    return _Batch(checkpoints, events, upto, unknown, full)


def read_log(since: int, upto: int, known: Mapping[str, type[DomainEvent]], *, limit: int = BATCH_SIZE):
    """The events of ``known`` types past ``since`` and up to ``upto``, at most ``limit`` of
    them; the position a reader has then seen the log through; the position and type of the
    events of other types up to it; and whether the limit was reached.

    ``upto`` must be settled (``SettledLog``): every event up to it has committed or never will,
    so a reader that moves to it skips nothing, of the types it read or of the others.
    """
    rows = list(
        Event.objects.filter(position__gt=since, position__lte=upto, type__in=list(known)).order_by(
            "position"
        )[:limit]
    )
    full = len(rows) == limit
    if full:
        upto = rows[-1].position
    # Positions are handed out one after the other, so a range holding as many events as were
    # read holds nothing else (a rolled-back append leaves a gap, which costs one more query).
    unknown = (
        []
        if upto - since == len(rows)
        else list(
            Event.objects.filter(position__gt=since, position__lte=upto)
            .exclude(type__in=list(known))
            .values_list("position", "type")
        )
    )
    return [Recorded(row, known[row.type]) for row in rows], max(upto, since), unknown, full


def _lock_checkpoints(projectors) -> dict[str, ProjectorCheckpoint]:
    return {
        checkpoint.projector: checkpoint
        for checkpoint in ProjectorCheckpoint.objects.select_for_update(skip_locked=True).filter(
            projector__in=[projector.name for projector in projectors]
        )
    }


def _warn_unknown(batch: _Batch) -> None:
    if batch.unknown:
        logger.warning("skipped %d event(s) of a type no projector reads", len(batch.unknown))


def _apply(
    projector: Projector, checkpoint: ProjectorCheckpoint, events: list[Recorded], batch: _Batch, rescue: bool
) -> bool:
    current = events[0] if events else None
    try:
        with transaction.atomic(using=READ_ALIAS):
            # One event at a time: this is the path after a failure, and it must say which event.
            for current in events:
                projector.apply_batch([current])
            checkpoint.unknown_events += batch.unknown_after(checkpoint)
            checkpoint.position = batch.upto
            if rescue:
                checkpoint.rescued_events += len(events)
            # Recovered: the error is history now (``failures`` and ``last_error_at`` keep it).
            checkpoint.last_error = ""
            checkpoint.last_error_position = None
            checkpoint.save()
        return True
    except Exception as error:
        # With nothing pending, only the checkpoint's own move failed: no event to name.
        position = current.position if current is not None else None
        logger.exception("projector %s failed at event %s", projector.name, position)
        checkpoint.refresh_from_db()
        checkpoint.failures += 1
        checkpoint.last_error = f"{type(error).__name__}: {error}"[:2000]
        checkpoint.last_error_position = position
        checkpoint.last_error_at = timezone.now()
        checkpoint.save()
        return False


def rebuild(projector: Projector, known: Mapping[str, type[DomainEvent]], *, progress=None) -> int:
    """Clear a projector's rows and replay the whole log into them, in one transaction.

    Readers keep seeing the old rows until it commits (PostgreSQL MVCC; SQLite WAL), and live
    projection skips this projector meanwhile (its checkpoint is locked), then resumes from
    where the rebuild ended.
    """
    ensure_checkpoints([projector])
    # Before the transaction: on a server shared with the log, its own id would count as one
    # the log's positions wait for.
    head = SettledLog().head(wait=SETTLE_SECONDS)
    with transaction.atomic(using=READ_ALIAS):
        checkpoint = ProjectorCheckpoint.objects.select_for_update().get(projector=projector.name)
        projector.reset()
        checkpoint.position = 0
        checkpoint.unknown_events = 0
        consumed = projector.consumes()
        replayed = 0
        while True:
            events, upto, unknown, full = read_log(checkpoint.position, head, consumed)
            checkpoint.unknown_events += sum(1 for _, event_type in unknown if event_type not in known)
            if events:
                projector.apply_batch(events)
                replayed += len(events)
            checkpoint.position = upto
            if progress is not None:
                progress(projector.name, checkpoint.position, max(head, checkpoint.position))
            if not full:
                break
        checkpoint.last_error = ""
        checkpoint.last_error_position = None
        checkpoint.save()
    return replayed


def projected_through(projector_names: Sequence[str]) -> int:
    """The position every one of these projectors has applied (0 while one has no checkpoint)."""
    positions = list(
        ProjectorCheckpoint.objects.filter(projector__in=projector_names).values_list("position", flat=True)
    )
    return min(positions) if len(positions) == len(set(projector_names)) else 0


@dataclass(frozen=True)
class Lag:
    projector: str
    position: int
    events_behind: int
    seconds_behind: float
    unknown_events: int
    rescued_events: int
    failures: int
    last_error: str


def lag(projector_names: Sequence[str]) -> list[Lag]:
    """How far each projector trails the log, in events and in seconds since the oldest event
    it has not applied was committed."""
    head = event_log_head()
    checkpoints = {c.projector: c for c in ProjectorCheckpoint.objects.filter(projector__in=projector_names)}
    now = timezone.now()
    report = []
    for name in projector_names:
        checkpoint = checkpoints.get(name) or ProjectorCheckpoint(projector=name)
        behind = max(head - checkpoint.position, 0)
        seconds = seconds_behind(checkpoint.position, now=now) if behind else 0.0
        report.append(
            Lag(
                name,
                checkpoint.position,
                behind,
                round(seconds, 3),
                checkpoint.unknown_events,
                checkpoint.rescued_events,
                checkpoint.failures,
                checkpoint.last_error,
            )
        )
    return report


def seconds_behind(position: int, *, now=None) -> float:
    """Age of the oldest event past ``position``: how stale a read model at ``position`` is."""
    oldest = (
        Event.objects.filter(position__gt=position)
        .order_by("position")
        .values_list("occurred_at", flat=True)
        .first()
    )
    if oldest is None:
        return 0.0
    return round(((now or timezone.now()) - oldest).total_seconds(), 3)
