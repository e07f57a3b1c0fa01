"""Switchable faults for chaos testing the sagas (see ``Failpoint``)."""

from django.conf import settings
from django.db import transaction
from django.db.models import F

from .models import Failpoint


class InjectedFault(RuntimeError):
    """A transient error raised on purpose by a FAIL failpoint."""


def fire(task: str, action: str) -> bool:
    """True if a failpoint for ``task`` and ``action`` is on, using up one of its firings."""
    if not settings.SAGA_FAILPOINTS_ENABLED:
        return False
    with transaction.atomic():
        point = Failpoint.objects.select_for_update().filter(task=task, action=action).first()
        if point is None or point.remaining == 0:
            return False
        changes = {"fired": F("fired") + 1}
        if point.remaining is not None:
            changes["remaining"] = F("remaining") - 1
        Failpoint.objects.filter(pk=point.pk).update(**changes)
    return True


def raise_if_failing(task: str) -> None:
    if fire(task, Failpoint.Action.FAIL):
        raise InjectedFault(f"failpoint: {task} fails on purpose")
