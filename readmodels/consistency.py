"""Read-your-writes on request: ``X-Min-Event-Position`` makes a query wait for its projection.

A wait holds a web thread, so it is for positions that exist and will be projected soon: one
past the head of the log never will be, and answers 400 at once. Only a few requests per
process may wait at the same time (``READMODELS_CONSISTENCY_MAX_WAITING``); gunicorn runs
more threads than that (``gunicorn.conf.py``), so waiting requests cannot take every thread
from the others. A request over the cap answers 503 with ``Retry-After`` at once, as one that
waited in vain would.
"""

import threading
import time

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter
from rest_framework import status
from rest_framework.exceptions import APIException, ValidationError

from eventlog.services import event_log_head

from . import projection

HEADER = "X-Min-Event-Position"
FIRST_POLL_SECONDS = 0.01
MAX_POLL_SECONDS = 0.1
RETRY_AFTER_SECONDS = 1

MAX_POSITION_DIGITS = 18
MIN_POSITION_PARAMETER = OpenApiParameter(
    HEADER,
    {"type": "integer", "minimum": 0, "maximum": 10**MAX_POSITION_DIGITS - 1},
    OpenApiParameter.HEADER,
    description=(
        "Wait (up to about 5 s) until the read models have applied this event position, e.g. the "
        "X-Event-Position of a command you just sent; 503 with Retry-After if they have not. "
        "A position past the newest event in the log answers 400 at once."
    ),
)


class ProjectionBehind(APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "The read models have not reached the requested event position yet."
    default_code = "projection_behind"

    def __init__(self):
        super().__init__()
        self.wait = RETRY_AFTER_SECONDS  # DRF turns this into a Retry-After header


def requested_position(request) -> int | None:
    raw = request.headers.get(HEADER)
    if raw is None:
        return None
    raw = raw.strip()
    if not raw.isdigit() or len(raw) > MAX_POSITION_DIGITS:
        raise ValidationError({HEADER: ["Send a non-negative integer: an X-Event-Position you received."]})
    return int(raw)


_waiting = threading.BoundedSemaphore(settings.READMODELS_CONSISTENCY_MAX_WAITING)


def wait_for(position: int, projectors: tuple[str, ...]) -> None:
    if projection.projected_through(projectors) >= position:
        return
    # Only now, when the read side is behind, does a query look at the write side's log.
    if position > event_log_head():
        raise ValidationError(
            {HEADER: ["No event has this position: send an X-Event-Position you received."]}
        )
    if not _waiting.acquire(blocking=False):
        raise ProjectionBehind()
    try:
        _poll_until_projected(position, projectors)
    finally:
        _waiting.release()


def _poll_until_projected(position: int, projectors: tuple[str, ...]) -> None:
    deadline = time.monotonic() + settings.READMODELS_CONSISTENCY_WAIT_SECONDS
    pause = FIRST_POLL_SECONDS
    while projection.projected_through(projectors) < position:
        if time.monotonic() >= deadline:
            raise ProjectionBehind()
        time.sleep(pause)
        pause = min(pause * 2, MAX_POLL_SECONDS)


class ConsistentReadMixin:
    """For query views: honour ``X-Min-Event-Position`` for the projectors the view reads."""

    projectors: tuple[str, ...] = ()

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        position = requested_position(request)
        if position is not None:
            wait_for(position, self.projectors)
