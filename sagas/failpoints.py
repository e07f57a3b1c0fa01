"""Switchable faults for chaos testing the sagas (see ``Failpoint``)."""

from django.conf import settings
from django.db import transaction
from django.db.models import F

from .models import Failpoint

# What publishing a message can suffer; FAIL belongs to the participant that runs the command.
PUBLISH_ACTIONS = (
    Failpoint.Action.DROP,
    Failpoint.Action.DUPLICATE,
    Failpoint.Action.SHUFFLE,
    Failpoint.Action.CRASH,
)


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
