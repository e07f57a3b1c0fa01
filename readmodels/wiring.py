"""Where the read side is wired to the write side: every projector, and the one signal that
drives them. Nothing else in the project listens to domain events."""

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


@receiver(events_committed, dispatch_uid="readmodels.project_committed_events")
def project_committed_events(sender, position: int, **kwargs) -> None:
    """Project right after the commit, in the process that committed: read models usually
    follow within milliseconds. A failure is recorded on the checkpoint and never reaches the
    command; the periodic catch-up (``readmodels.catch_up``) applies what was left."""
    global _projected_through
    if position <= _projected_through and _every_projector_through(position):
        return
    projection.run_pending(PROJECTORS, KNOWN_EVENT_TYPES)
    _projected_through = position


def _every_projector_through(position: int) -> bool:
    caught_up = ProjectorCheckpoint.objects.filter(projector__in=PROJECTOR_NAMES, position__gte=position)
    return caught_up.count() == len(PROJECTOR_NAMES)


def catch_up() -> projection.RunReport:
    return projection.run_pending(PROJECTORS, KNOWN_EVENT_TYPES)
