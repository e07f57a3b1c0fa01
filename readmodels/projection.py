"""Running projectors: apply committed events past each checkpoint, exactly once.

Exactly once: a projector's rows and its checkpoint commit in one read-database transaction,
so an event is either applied and counted or neither. Two processes never apply the same
events: each locks the checkpoint rows it works on (``SKIP LOCKED``), and one that finds them
taken leaves the work to the holder, which looks again for newer events after it commits.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from eventlog.models import Event
from eventlog.services import event_log_head

from .models import ProjectorCheckpoint
from .projectors.base import READ_ALIAS, Projector

logger = logging.getLogger(__name__)

BATCH_SIZE = 500


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
    known_types: frozenset[str],
    *,
    rescue: bool = False,
    through: int | None = None,
) -> RunReport:
    """Apply everything committed that the projectors have not applied yet, or with ``through``
    at least everything up to that position (a runner that watches the head itself comes back
    for what was committed since, in one batch rather than one per commit).

    A projector that fails is left at its last good position (its error recorded) and not tried
    again in this run, so the others carry on; the periodic catch-up tries it again later.
    ``rescue`` counts what this run applies on each checkpoint's ``rescued_events``: the safety
    net says what it covered for, so a test or an operator can tell a healthy run from a rescued one.
    """
    report = RunReport()
    active = list(projectors)
    while active:
        applied, failed, more = _run_batch(active, known_types, rescue, through)
        report.applied += applied
        if failed:
            report.failed += tuple(failed)
            active = [projector for projector in active if projector.name not in failed]
        if not more:
            break
    return report


def _run_batch(
    projectors: Sequence[Projector], known_types: frozenset[str], rescue: bool, through: int | None
) -> tuple[int, list[str], bool]:
    try:
        return _run_batch_together(projectors, known_types, rescue, through)
    except Exception:
        # Some projector failed and took the whole batch back with it: go again with each one
        # in a savepoint of its own, so the failing one is recorded and the others move on.
        return _run_batch_isolated(projectors, known_types, rescue, through)


def _run_batch_together(projectors, known_types, rescue, through) -> tuple[int, list[str], bool]:
    """The usual case: every projector applies its events and every checkpoint moves, in one
    transaction without savepoints, the checkpoints in one UPDATE."""
    with transaction.atomic(using=READ_ALIAS):
        checkpoints, events, since = _lock_and_read(projectors)
        if not checkpoints:
            return 0, [], False
        applied, moved, unknown, pending_counts = 0, [], {}, {}
        for projector in projectors:
            checkpoint = checkpoints.get(projector.name)
            if checkpoint is None:
                continue
            pending = [event for event in events if event.position > checkpoint.position]
            if not pending:
                continue
            projector.apply_batch(pending)
            unknown[projector.name] = unknown_count(pending, known_types)
            applied += len(pending)
            pending_counts[projector.name] = len(pending)
            moved.append(projector.name)
        if moved:
            # Every pending list ends with the batch's last event, so they all move to it.
            ProjectorCheckpoint.objects.filter(projector__in=moved).update(
                position=events[-1].position,
                updated_at=timezone.now(),
                last_error="",
                last_error_position=None,
            )
        for name in moved:
            counters = {}
            if unknown[name]:
                counters["unknown_events"] = F("unknown_events") + unknown[name]
            if rescue:
                counters["rescued_events"] = F("rescued_events") + pending_counts[name]
            if counters:
                ProjectorCheckpoint.objects.filter(projector=name).update(**counters)
    for name, count in unknown.items():
        _warn_unknown(name, count)
    return applied, [], _more_to_read(events, since, through)


def _run_batch_isolated(projectors, known_types, rescue, through) -> tuple[int, list[str], bool]:
    with transaction.atomic(using=READ_ALIAS):
        checkpoints, events, since = _lock_and_read(projectors)
        if not checkpoints:
            return 0, [], False
        applied, failed = 0, []
        for projector in projectors:
            checkpoint = checkpoints.get(projector.name)
            if checkpoint is None:
                continue
            pending = [event for event in events if event.position > checkpoint.position]
            if not pending:
                continue
            if _apply(projector, checkpoint, pending, known_types, rescue):
                applied += len(pending)
            else:
                failed.append(projector.name)
    return applied, failed, _more_to_read(events, since, through)


def _lock_and_read(projectors) -> tuple[dict[str, ProjectorCheckpoint], list[Event], int]:
    checkpoints = _lock_checkpoints(projectors)
    # Fewer than asked for: another process holds some (it will apply what we would have), or
    # they do not exist yet (a new database).
    if len(checkpoints) < len(projectors) and ensure_checkpoints(projectors):
        checkpoints = _lock_checkpoints(projectors)
    if not checkpoints:
        return {}, [], 0
    since = min(checkpoint.position for checkpoint in checkpoints.values())
    events = list(Event.objects.filter(position__gt=since).order_by("position")[:BATCH_SIZE])
    return checkpoints, events, since


def _lock_checkpoints(projectors) -> dict[str, ProjectorCheckpoint]:
    return {
        checkpoint.projector: checkpoint
        for checkpoint in ProjectorCheckpoint.objects.select_for_update(skip_locked=True).filter(
            projector__in=[projector.name for projector in projectors]
        )
    }


def _more_to_read(events: list[Event], since: int, through: int | None) -> bool:
    # Events committed while this batch ran may have been left to us by a process that found
    # the checkpoints locked: look again until the log has nothing newer than what we read.
    read_through = events[-1].position if events else since
    if len(events) == BATCH_SIZE:
        return True
    return read_through < (event_log_head() if through is None else through)


def unknown_count(events: Sequence[Event], known_types: frozenset[str]) -> int:
    """Events no projector of the read side knows: skipped, and counted on each checkpoint."""
    return sum(1 for event in events if event.type not in known_types)


def _warn_unknown(projector_name: str, unknown: int) -> None:
    if unknown:
        logger.warning("%s skipped %d event(s) of unknown type", projector_name, unknown)


def _apply(
    projector: Projector, checkpoint: ProjectorCheckpoint, events: list[Event], known_types, rescue: bool
) -> bool:
    current = events[0]
    try:
        unknown = unknown_count(events, known_types)
        with transaction.atomic(using=READ_ALIAS):
            # One event at a time: this is the path after a failure, and it must say which event.
            for current in events:
                projector.apply_batch([current])
            checkpoint.position = events[-1].position
            checkpoint.unknown_events += unknown
            if rescue:
                checkpoint.rescued_events += len(events)
            # Recovered: the error is history now (``failures`` and ``last_error_at`` keep it).
            checkpoint.last_error = ""
            checkpoint.last_error_position = None
            checkpoint.save()
        _warn_unknown(projector.name, unknown)
        return True
    except Exception as error:
        logger.exception(
            "projector %s failed at event %s (%s)", projector.name, current.position, current.type
        )
        checkpoint.refresh_from_db()
        checkpoint.failures += 1
        checkpoint.last_error = f"{type(error).__name__}: {error}"[:2000]
        checkpoint.last_error_position = current.position
        checkpoint.last_error_at = timezone.now()
        checkpoint.save()
        return False


def rebuild(projector: Projector, known_types: frozenset[str], *, progress=None) -> int:
    """Clear a projector's rows and replay the whole log into them, in one transaction.

    Readers keep seeing the old rows until it commits (PostgreSQL MVCC; SQLite WAL), and live
    projection skips this projector meanwhile (its checkpoint is locked), then resumes from
    where the rebuild ended.
    """
    ensure_checkpoints([projector])
    with transaction.atomic(using=READ_ALIAS):
        checkpoint = ProjectorCheckpoint.objects.select_for_update().get(projector=projector.name)
        projector.reset()
        checkpoint.position = 0
        checkpoint.unknown_events = 0
        head = event_log_head()
        replayed = 0
        while True:
            events = list(
                Event.objects.filter(position__gt=checkpoint.position).order_by("position")[:BATCH_SIZE]
            )
            if not events:
                break
            projector.apply_batch(events)
            checkpoint.unknown_events += unknown_count(events, known_types)
            checkpoint.position = events[-1].position
            replayed += len(events)
            if progress is not None:
                progress(projector.name, checkpoint.position, max(head, checkpoint.position))
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
