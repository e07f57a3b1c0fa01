"""Where the read side is wired to the write side: every projector, and the one signal that
drives them. Nothing else in the project listens to domain events."""

import logging
from contextvars import ContextVar

from django.conf import settings
from django.core.signals import request_finished, request_started
from django.dispatch import receiver

from eventlog.signals import events_committed

from . import projection
from .models import ProjectorCheckpoint
from .projectors.catalog import ProductAvailabilityProjector
from .projectors.customers import CustomerSummaryProjector, DailySalesProjector
from .projectors.orders import OrderSummaryProjector, OrderTimelineProjector

PROJECTORS = (
    OrderSummaryProjector(),
    OrderTimelineProjector(),
    ProductAvailabilityProjector(),
    CustomerSummaryProjector(),
    DailySalesProjector(),
)
PROJECTOR_NAMES = tuple(projector.name for projector in PROJECTORS)
# Event types the read side knows; any other is skipped and counted on each checkpoint.
KNOWN_EVENT_TYPES = frozenset().union(*(projector.handled_types() for projector in PROJECTORS)) | {
    # Shown on the order's timeline only; no other read model changes with it.
    "StockReservationFailed",
}

# The last position this process projected through: a signal for an event at or below it
# usually has nothing left to do (a transaction that appended several events announces each).
# Only a hint, checked against the checkpoints before skipping: after a rollback or a flush
# (tests) positions can be handed out again.
_projected_through = 0


# In a web request, the highest position committed so far, projected once the response has
# gone (``request_finished``); None outside requests (workers, commands), which project at once.
_committed_in_request: ContextVar[int | None] = ContextVar("committed_in_request", default=None)

logger = logging.getLogger(__name__)


@receiver(events_committed, dispatch_uid="readmodels.project_committed_events")
def project_committed_events(sender, position: int, **kwargs) -> None:
    """Project right after the commit, in the process that committed: read models usually
    follow within milliseconds. A failure is recorded on the checkpoint and never reaches the
    command; the periodic catch-up (``readmodels.catch_up``) applies what was left.

    A web request projects after its response has been sent, so a command's latency does not
    include its projection; a client that must read its own write sends the position it was
    given (``X-Min-Event-Position``) and the query waits for it.
    """
    pending = _committed_in_request.get()
    if pending is not None:
        _committed_in_request.set(max(pending, position))
        return
    _project_through(position)


@receiver(request_started, dispatch_uid="readmodels.defer_projection_in_request")
def _defer_projection(**kwargs) -> None:
    _committed_in_request.set(0)


@receiver(request_finished, dispatch_uid="readmodels.project_after_response")
def _project_after_response(**kwargs) -> None:
    position = _committed_in_request.get()
    _committed_in_request.set(None)
    if not position:
        return
    try:
        _project_through(position)
    except Exception:
        # The response has gone and the catch-up will apply these events: log, do not raise
        # into the server's close of the response.
        logger.exception("projection after the response failed; the periodic catch-up will retry")


def _project_through(position: int) -> None:
    global _projected_through
    if position <= _projected_through and _every_projector_through(position):
        return
    projection.run_pending(PROJECTORS, KNOWN_EVENT_TYPES)
    _projected_through = position


def _every_projector_through(position: int) -> bool:
    caught_up = ProjectorCheckpoint.objects.filter(projector__in=PROJECTOR_NAMES, position__gte=position)
    return caught_up.count() == len(PROJECTOR_NAMES)


def catch_up() -> projection.RunReport:
    """Apply everything pending now (commands and tests that need the read models current)."""
    return projection.run_pending(PROJECTORS, KNOWN_EVENT_TYPES)


def rescue_stalled() -> projection.RunReport:
    """The periodic safety net. Live projection applies an event within milliseconds of its
    commit, so one still unapplied after a whole catch-up interval was left behind: a process
    died after its commit, or a projector failed. Only then does this run, and what it applies
    is counted as rescued on the checkpoints; a healthy system shows none."""
    positions = dict(
        ProjectorCheckpoint.objects.filter(projector__in=PROJECTOR_NAMES).values_list("projector", "position")
    )
    oldest_position = min(positions.get(name, 0) for name in PROJECTOR_NAMES)
    if projection.seconds_behind(oldest_position) < settings.READMODELS_CATCH_UP_SECONDS:
        return projection.RunReport()
    return projection.run_pending(PROJECTORS, KNOWN_EVENT_TYPES, rescue=True)
