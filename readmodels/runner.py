"""The projection runner: the one process role that writes read models (besides a rebuild).

Commits do not project. The ``events_committed`` signal wakes the runner (``wake``), which is a
Celery task on the ``readmodels`` queue (``readmodels.project``): it drains the log in batches,
one read-database transaction per batch with the checkpoints in it, and stops at the head. A
saga step or an API request therefore never waits for projection, and many commits share one
run.

The wake-up is coalesced per process: a process sends a request only when the last run it asked
for has started (``ProjectionRunner.runs_started`` moved past what it saw then), or when that
request has waited longer than ``RESEND_AFTER_SECONDS`` (a lost message). A run that starts
after a commit sees that commit, so skipping a request while one is still due loses nothing;
two runs at once are harmless, the checkpoints' ``SKIP LOCKED`` hands the work to one of them.
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

from . import projection
from .models import ProjectionRunner
from .projectors.base import READ_ALIAS

logger = logging.getLogger(__name__)

PROJECT_TASK = "readmodels.project"
RESEND_AFTER_SECONDS = 1.0


@dataclass
class _Request:
    runs_started: int = -1
    sent_at: float = 0.0


_last_request = _Request()


def send_request() -> None:
    current_app.send_task(PROJECT_TASK)


_waker: Callable[[], None] = send_request


def install_waker(waker: Callable[[], None]) -> Callable[[], None]:
    """Make ``waker`` what a due wake-up calls (a test may run projection in its own process);
    returns the one it replaces."""
    global _waker, _last_request
    previous, _waker, _last_request = _waker, waker, _Request()
    return previous


def wake() -> None:
    """Ask for a run unless one this process asked for has not started yet. Never raises: the
    commit has happened, and the periodic catch-up covers a wake-up that could not be sent."""
    try:
        started = _runs_started()
        waiting = time.monotonic() - _last_request.sent_at
        if _last_request.runs_started == started and waiting < RESEND_AFTER_SECONDS:
            return
        _last_request.runs_started, _last_request.sent_at = started, time.monotonic()
        _waker()
    except Exception:
        logger.exception("could not wake the projection runner; the periodic catch-up will project")


def run(projectors, known_types) -> projection.RunReport:
    """One run: count it as started (so that later commits ask for another), then apply
    everything committed so far."""
    pulse = ProjectionRunner.objects.using(READ_ALIAS)
    if not pulse.filter(pk=1).update(runs_started=F("runs_started") + 1, last_run_started_at=timezone.now()):
        pulse.get_or_create(pk=1, defaults={"runs_started": 1, "last_run_started_at": timezone.now()})
    report = projection.run_pending(projectors, known_types)
    pulse.filter(pk=1).update(last_run_finished_at=timezone.now(), last_run_applied=report.applied)
    return report


def _runs_started() -> int:
    started = (
        ProjectionRunner.objects.using(READ_ALIAS).filter(pk=1).values_list("runs_started", flat=True).first()
    )
    return started or 0


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
