"""The projection runner: the one process role that writes read models (besides a rebuild).

Commits do not project. The ``events_committed`` signal wakes the runner (``wake``), which is a
Celery task on the ``readmodels`` queue (``readmodels.project``): it drains the log in batches,
one read-database transaction per batch with the checkpoints in it, and then lingers, watching
the log's head, for as long as commits keep coming. A saga step or an API request therefore
never waits for projection, and while commits arrive faster than the linger, one run serves
them all: a commit finds it running and sends nothing, and the run applies what accumulated
since its last batch in one transaction.

The wake-up is coalesced across processes through the runner's pulse row: a committing process
asks for a run only when none is running (a lingering run sees the commit at its next look; one
that is ending looks at the head once more after it says so) and none is asked for (the first
process to flip ``requested`` sends the one message; the run clears it as it starts, before it
reads). ``beat_at`` is the pulse's last sign of life: a request, a run starting or ending, and
a beat every ``BEAT_SECONDS`` while a run lingers. A pulse silent for ``RESEND_AFTER_SECONDS``
while it says a run is running or asked for (a dead run, a lost message) is asked again by the
first commit that notices, and only by that one (a compare-and-set on ``beat_at``): an extra
run is harmless, since the checkpoints' ``SKIP LOCKED`` hands the work to one of them. The
clocks of the processes that write and compare ``beat_at`` must agree to well within a second.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import timedelta

from celery import current_app
from django.conf import settings
from django.db.models import F
from django.utils import timezone

from eventlog.services import SettledLog

from . import projection
from .models import ProjectionRunner
from .projectors.base import READ_ALIAS

logger = logging.getLogger(__name__)

PROJECT_TASK = "readmodels.project"
RESEND_AFTER_SECONDS = 1.0
BEAT_SECONDS = RESEND_AFTER_SECONDS / 4

# Set when the worker running this process's run is told to stop: a lingering run then ends at
# its next look at the head instead of holding the warm shutdown for the rest of its linger.
stop_lingering = threading.Event()


def send_request() -> None:
    current_app.send_task(PROJECT_TASK)


_waker: Callable[[], None] = send_request


def install_waker(waker: Callable[[], None]) -> Callable[[], None]:
    """Make ``waker`` what a due wake-up calls (a test may run projection in its own process);
    returns the one it replaces."""
    global _waker
    previous, _waker = _waker, waker
    return previous


def wake() -> None:
    """Ask for a run unless one that will see this commit is running or asked for. Never
    raises: the commit has happened, and the periodic catch-up covers a lost wake-up."""
    try:
        _, beat_at, running, requested = _pulse_now()
        now = timezone.now()
        if not (running or requested):
            if not _pulse_rows().filter(running=False, requested=False).update(requested=True, beat_at=now):
                return  # another process asked first, or a run started meanwhile: it sees this commit
        elif beat_at is not None and (now - beat_at).total_seconds() < RESEND_AFTER_SECONDS:
            # A run asked for starts after this commit; a running one sees it at its next look,
            # or looks once more after it ends.
            return
        elif not _pulse_rows().filter(beat_at=beat_at).update(beat_at=now):
            # Silent for too long (a lost message, a dead run), but another process has just
            # asked again: one extra run is enough.
            return
        _waker()
    except Exception:
        logger.exception("could not wake the projection runner; the periodic catch-up will project")


def run(
    projectors, known, *, linger: float = 0.0, look_every: float = 0.025, at_most: float = 30.0
) -> projection.RunReport:
    """Drain the log; with ``linger``, keep draining while commits come, until none came for
    that long. Then look once more: a commit that found this run running asked for nothing, so
    its events must be found here. Stops when the head is reached, or when only a failing
    projector is behind and nothing new came.

    A run that has lingered for ``at_most`` seconds ends and asks for the next one, so that the
    worker it runs in can take other work, or stop, between the two.
    """
    report = projection.RunReport()
    ends_at = time.monotonic() + at_most
    settled = SettledLog()
    last_head = None
    while True:
        active = [projector for projector in projectors if projector.name not in report.failed]
        applied_before = report.applied
        _mark(running=True)
        try:
            _drain(active, known, report, settled, linger=linger, look_every=look_every, until=ends_at)
        finally:
            _mark(running=False, applied=report.applied - applied_before)
        head = settled.head(wait=projection.SETTLE_SECONDS)
        caught_up = projection.projected_through([projector.name for projector in active]) >= head
        if caught_up or (report.applied == applied_before and head == last_head):
            return report
        if linger and time.monotonic() >= ends_at:
            wake()
            return report
        last_head = head


def _drain(
    projectors, known, report, settled: SettledLog, *, linger: float, look_every: float, until: float
) -> None:
    """Apply batches until the settled head is reached, then, for up to ``linger`` seconds of
    quiet, look at it every ``look_every`` seconds and apply what new commits appended. A look is
    two read-only queries; only a look that finds new events costs a transaction."""
    seen_head = None
    quiet_since = beat = time.monotonic()
    while True:
        head = settled.head(wait=0 if seen_head is not None else projection.SETTLE_SECONDS)
        if head != seen_head:
            active = [projector for projector in projectors if projector.name not in report.failed]
            part = projection.run_pending(active, known, through=head)
            report.applied += part.applied
            report.failed += part.failed
            if part.applied:
                quiet_since = time.monotonic()
            seen_head = head
        now = time.monotonic()
        if now - quiet_since >= linger or now >= until or stop_lingering.is_set():
            return
        if now - beat >= BEAT_SECONDS:
            _pulse_rows().update(beat_at=timezone.now())
            beat = now
        time.sleep(look_every)


def _mark(*, running: bool, applied: int = 0) -> None:
    now = timezone.now()
    changes = (
        {
            "running": True,
            "requested": False,
            "runs_started": F("runs_started") + 1,
            "last_run_started_at": now,
            "beat_at": now,
        }
        if running
        else {"running": False, "last_run_finished_at": now, "last_run_applied": applied, "beat_at": now}
    )
    if not _pulse_rows().update(**changes):
        ProjectionRunner.objects.using(READ_ALIAS).get_or_create(pk=1)
        _pulse_rows().update(**changes)


def _pulse_rows():
    return ProjectionRunner.objects.using(READ_ALIAS).filter(pk=1)


def _pulse_now() -> tuple:
    row = _pulse_rows().values_list("runs_started", "beat_at", "running", "requested").first()
    if row is None:
        ProjectionRunner.objects.using(READ_ALIAS).get_or_create(pk=1)
        return (0, None, False, False)
    return row


def pulse() -> ProjectionRunner:
    """The runner's last run, for health checks and the dashboard."""
    return ProjectionRunner.objects.using(READ_ALIAS).filter(pk=1).first() or ProjectionRunner()


def stalled(last: ProjectionRunner, *, events_behind: int, now=None) -> bool:
    """Work is waiting and the runner has shown no sign of life (a run starting, ending or
    beating while it lingers) for three catch-up intervals: no worker serves the ``readmodels``
    queue, or every wake-up was lost."""
    if not events_behind:
        return False
    quiet_since = now or timezone.now()
    limit = timedelta(seconds=3 * settings.READMODELS_CATCH_UP_SECONDS)
    return last.beat_at is None or quiet_since - last.beat_at > limit
