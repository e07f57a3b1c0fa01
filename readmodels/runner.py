"""The projection runner: the one process role that writes read models (besides a rebuild).

Commits do not project. The ``events_committed`` signal wakes the runner (``wake``), which is a
Celery task on the ``readmodels`` queue (``readmodels.project``): it drains the log in batches,
one read-database transaction per batch with the checkpoints in it, and stops at the head. A
saga step or an API request therefore never waits for projection, and many commits share one
run.

The wake-up is coalesced: a committing process reads the runner's pulse row and asks for a run
only when none is running (a run looks for new events once more after it ends, so it finds
this commit) and the last run it asked for has started (``runs_started`` moved past what it
saw then). Either wait ends after ``RESEND_AFTER_SECONDS`` (a lost message, a dead run): an
extra run is harmless, since the checkpoints' ``SKIP LOCKED`` hands the work to one of them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from celery import current_app
from django.conf import settings
from django.db.models import F
from django.utils import timezone

from eventlog.services import event_log_head

from . import projection
from .models import ProjectionRunner, ProjectorCheckpoint
from .projectors.base import READ_ALIAS

logger = logging.getLogger(__name__)

PROJECT_TASK = "readmodels.project"
RESEND_AFTER_SECONDS = 1.0


@dataclass
class _Seen:
    """What this process last did about a run: asked for one, or left it to one running."""

    runs_started: int = -1
    since: float = 0.0


_last_request = _Seen()
_left_to = _Seen()


def send_request() -> None:
    current_app.send_task(PROJECT_TASK)


_waker: Callable[[], None] = send_request


def install_waker(waker: Callable[[], None]) -> Callable[[], None]:
    """Make ``waker`` what a due wake-up calls (a test may run projection in its own process);
    returns the one it replaces."""
    global _waker, _last_request, _left_to
    previous, _waker, _last_request, _left_to = _waker, waker, _Seen(), _Seen()
    return previous


def wake() -> None:
    """Ask for a run unless one that will see this commit is running or due. Never raises: the
    commit has happened, and the periodic catch-up covers a wake-up that could not be sent."""
    try:
        started, running = _pulse_now()
        now = time.monotonic()
        if running:
            # It looks for new events once more after it ends; one running for longer than
            # the resend delay may have died, and an extra run is harmless.
            if _left_to.runs_started != started:
                _left_to.runs_started, _left_to.since = started, now
            if now - _left_to.since < RESEND_AFTER_SECONDS:
                return
        elif _last_request.runs_started == started and now - _last_request.since < RESEND_AFTER_SECONDS:
            return
        _last_request.runs_started, _last_request.since = started, now
        _waker()
    except Exception:
        logger.exception("could not wake the projection runner; the periodic catch-up will project")


def run(projectors, known_types) -> projection.RunReport:
    """Drain the log, then look once more: a commit that found this run running asked for
    nothing, so its events must be found here. Stops when the head is reached, or when only a
    failing projector is behind and nothing new came."""
    report = projection.RunReport()
    last_head = None
    while True:
        _mark(running=True)
        part = projection.run_pending(projectors, known_types)
        _mark(running=False, applied=part.applied)
        report.applied += part.applied
        report.failed += part.failed
        head = event_log_head()
        if _projected_through(projectors) >= head or (not part.applied and head == last_head):
            return report
        last_head = head


def _mark(*, running: bool, applied: int = 0) -> None:
    now = timezone.now()
    changes = (
        {"running": True, "runs_started": F("runs_started") + 1, "last_run_started_at": now}
        if running
        else {"running": False, "last_run_finished_at": now, "last_run_applied": applied}
    )
    pulse_rows = ProjectionRunner.objects.using(READ_ALIAS).filter(pk=1)
    if not pulse_rows.update(**changes):
        ProjectionRunner.objects.using(READ_ALIAS).get_or_create(pk=1)
        pulse_rows.update(**changes)


def _pulse_now() -> tuple[int, bool]:
    row = (
        ProjectionRunner.objects.using(READ_ALIAS).filter(pk=1).values_list("runs_started", "running").first()
    )
    return row or (0, False)


def _projected_through(projectors) -> int:
    positions = dict(
        ProjectorCheckpoint.objects.filter(projector__in=[p.name for p in projectors]).values_list(
            "projector", "position"
        )
    )
    return min(positions.get(projector.name, 0) for projector in projectors)


def pulse() -> ProjectionRunner:
    """The runner's last run, for health checks and the dashboard."""
    return ProjectionRunner.objects.using(READ_ALIAS).filter(pk=1).first() or ProjectionRunner()


def stalled(last: ProjectionRunner, *, events_behind: int, now=None) -> bool:
    """Work is waiting and no run has started for three catch-up intervals: no worker serves
    the ``readmodels`` queue, or every wake-up was lost."""
    if not events_behind:
        return False
    quiet_since = now or timezone.now()
    limit = timedelta(seconds=3 * settings.READMODELS_CATCH_UP_SECONDS)
    return last.last_run_started_at is None or quiet_since - last.last_run_started_at > limit
