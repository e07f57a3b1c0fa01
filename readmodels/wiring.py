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
# Every event type the read side reads, by name: the runner reads only these from the log, and
# skips and counts any other.
KNOWN_EVENTS = {name: kind for projector in PROJECTORS for name, kind in projector.consumes().items()}


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
    return runner.run(PROJECTORS, KNOWN_EVENTS, linger=linger)


def catch_up() -> projection.RunReport:
    """Apply everything pending now (commands and tests that need the read models current)."""
    return projection.run_pending(PROJECTORS, KNOWN_EVENTS)


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
    return projection.run_pending(PROJECTORS, KNOWN_EVENTS, rescue=True)
