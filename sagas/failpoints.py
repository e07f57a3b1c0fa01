"""Switchable faults for chaos testing the sagas (see ``Failpoint``).

FAIL belongs to the participant that runs a command (``raise_if_failing``); the others wrap the
publisher (``with_failpoints``), so the real publisher knows nothing of them.
"""

import logging
import os
import random

from django.conf import settings
from django.db import transaction
from django.db.models import F

from .models import Failpoint
from .publishing import Publisher

logger = logging.getLogger(__name__)

PUBLISH_ACTIONS = (
    Failpoint.Action.DROP,
    Failpoint.Action.DUPLICATE,
    Failpoint.Action.LATE_COPY,
    Failpoint.Action.SHUFFLE,
    Failpoint.Action.CRASH,
)
# How a crash looks to a supervisor, and how far a shuffled message may slip.
CRASH_EXIT_CODE = 70
SHUFFLE_MAX_DELAY = 0.5
# Long after a saga's next steps, and its compensations, have run: what a broker re-delivering
# a message it thought unacknowledged looks like.
LATE_COPY_DELAY = 3.0


class InjectedFault(RuntimeError):
    """A transient error raised on purpose by a FAIL failpoint."""


def fired(task: str, actions) -> frozenset[str]:
    """The actions among ``actions`` switched on for ``task``, each using up one firing."""
    if not settings.SAGA_FAILPOINTS_ENABLED:
        return frozenset()
    with transaction.atomic():
        points = [
            point
            for point in Failpoint.objects.select_for_update().filter(task=task, action__in=actions)
            if point.remaining != 0
        ]
        for point in points:
            changes = {"fired": F("fired") + 1}
            if point.remaining is not None:
                changes["remaining"] = F("remaining") - 1
            Failpoint.objects.filter(pk=point.pk).update(**changes)
    return frozenset(point.action for point in points)


def raise_if_failing(task: str) -> None:
    if fired(task, [Failpoint.Action.FAIL]):
        raise InjectedFault(f"failpoint: {task} fails on purpose")


def with_failpoints(publish: Publisher) -> Publisher:
    """``publish``, with the publishing failpoints switched on for a task applied to its sends."""

    def publish_with_faults(task, message, countdown=0.0):
        faults = fired(task, PUBLISH_ACTIONS)
        saga_id = message.get("saga_id")
        if Failpoint.Action.CRASH in faults:
            logger.error("failpoint: process dies before sending %s for saga %s", task, saga_id)
            os._exit(CRASH_EXIT_CODE)
        if Failpoint.Action.DROP in faults:
            logger.warning("failpoint: dropped %s for saga %s", task, saga_id)
            return
        if Failpoint.Action.SHUFFLE in faults:
            countdown += random.uniform(0, SHUFFLE_MAX_DELAY)
        for _ in range(2 if Failpoint.Action.DUPLICATE in faults else 1):
            publish(task, message, countdown)
        if Failpoint.Action.LATE_COPY in faults:
            publish(task, message, countdown + LATE_COPY_DELAY)

    return publish_with_faults
