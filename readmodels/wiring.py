"""Where the read side is wired to the write side: every projector, and the one signal that
drives them. Nothing else in the project listens to domain events."""

from django.conf import settings
from django.dispatch import receiver

from eventlog.signals import events_committed

from . import projection, runner
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


@receiver(events_committed, dispatch_uid="readmodels.wake_the_runner")
def wake_the_runner(sender, position: int, **kwargs) -> None:
    """A commit wakes the projection runner and goes on: projection happens in the runner
    (``readmodels.runner``), never in the saga step or the request that committed. A client
    that must read its own write sends the position it was given (``X-Min-Event-Position``)
    and the query waits for the runner."""
    runner.wake()


def run(*, linger: float = 0.0) -> projection.RunReport:
    """What the runner task does: apply everything committed so far, in batches, and with
    ``linger`` what commits append until none came for that long."""
    return runner.run(PROJECTORS, KNOWN_EVENT_TYPES, linger=linger)


def catch_up() -> projection.RunReport:
    """Apply everything pending now (commands and tests that need the read models current)."""
    return projection.run_pending(PROJECTORS, KNOWN_EVENT_TYPES)


def rescue_stalled() -> projection.RunReport:
    """The periodic safety net. Live projection applies an event within milliseconds of its
    commit, so one still unapplied after a whole catch-up interval was left behind: a process
    died after its commit, or a projector failed. Only then does this run, and what it applies
    is counted as rescued on the checkpoints; a healthy system shows none."""
    if (
        projection.seconds_behind(projection.projected_through(PROJECTOR_NAMES))
        < settings.READMODELS_CATCH_UP_SECONDS
    ):
        return projection.RunReport()
    return projection.run_pending(PROJECTORS, KNOWN_EVENT_TYPES, rescue=True)
