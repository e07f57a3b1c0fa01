"""The projection runner: the one process role that writes read models (besides a rebuild).

Commits do not project. The ``events_committed`` signal wakes the runner (``wake``), which is a
Celery task on the ``readmodels`` queue (``readmodels.project``): it drains the log in batches,
one read-database transaction per batch with the checkpoints in it, and stops at the head. A
saga step or an API request therefore never waits for projection, and many commits share one
run.

The wake-up is coalesced across processes through the runner's pulse row: a committing process
asks for a run only when none is running (a run looks for new events once more after it ends,
so it finds this commit) and none is asked for (the first process to flip ``requested`` sends
the one message; the run clears it as it starts, before it reads). Either state held for longer
than ``RESEND_AFTER_SECONDS`` (a lost message, a dead run) is asked again anyway: an extra run is
harmless, since the checkpoints' ``SKIP LOCKED`` hands the work to one of them.
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
from .models import ProjectionRunner
from .projectors.base import READ_ALIAS

logger = logging.getLogger(__name__)

PROJECT_TASK = "readmodels.project"
RESEND_AFTER_SECONDS = 1.0


@dataclass
class _Seen:
    """A run state this process left a commit to, and since when (by its own clock)."""

    state: tuple = ()
    since: float = 0.0


_left_to = _Seen()


def send_request() -> None:
    current_app.send_task(PROJECT_TASK)


_waker: Callable[[], None] = send_request


def install_waker(waker: Callable[[], None]) -> Callable[[], None]:
    """Make ``waker`` what a due wake-up calls (a test may run projection in its own process);
    returns the one it replaces."""
    global _waker, _left_to
    previous, _waker, _left_to = _waker, waker, _Seen()
    return previous


def wake() -> None:
    """Ask for a run unless one that will see this commit is running or asked for. Never
    raises: the commit has happened, and the periodic catch-up covers a lost wake-up."""
    try:
        started, running, requested = _pulse_now()
        if running or requested:
            # A run asked for starts after this commit; a running one looks again when it ends.
            # Either state held for longer than the resend delay may be a lost message or a
            # dead run, and an extra run is harmless.
            now = time.monotonic()
            if _left_to.state != (started, running, requested):
                _left_to.state, _left_to.since = (started, running, requested), now
            if now - _left_to.since < RESEND_AFTER_SECONDS:
                return
        elif not _pulse_rows().filter(running=False, requested=False).update(requested=True):
            return  # another process asked first, or a run started meanwhile: it sees this commit
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
        caught_up = projection.projected_through([projector.name for projector in projectors]) >= head
        if caught_up or (not part.applied and head == last_head):
            return report
        last_head = head


def _mark(*, running: bool, applied: int = 0) -> None:
    now = timezone.now()
    changes = (
        {
            "running": True,
            "requested": False,
            "runs_started": F("runs_started") + 1,
            "last_run_started_at": now,
        }
        if running
        else {"running": False, "last_run_finished_at": now, "last_run_applied": applied}
    )
    if not _pulse_rows().update(**changes):
        ProjectionRunner.objects.using(READ_ALIAS).get_or_create(pk=1)
        _pulse_rows().update(**changes)


def _pulse_rows():
    return ProjectionRunner.objects.using(READ_ALIAS).filter(pk=1)


def _pulse_now() -> tuple[int, bool, bool]:
    row = _pulse_rows().values_list("runs_started", "running", "requested").first()
    if row is None:
        ProjectionRunner.objects.using(READ_ALIAS).get_or_create(pk=1)
        return (0, False, False)
    return row


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
