"""How saga messages leave: after their transaction commits, through the installed publisher.

The publisher is Celery's ``send_task`` unless something else is installed: the failpoints
wrap it for chaos testing (``sagas.apps``), a test may record messages instead.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from celery import current_app
from django.db import transaction

logger = logging.getLogger(__name__)

Publisher = Callable[[str, dict[str, Any], float], None]


def celery_publisher(task: str, message: dict[str, Any], countdown: float = 0.0) -> None:
    current_app.send_task(task, kwargs=message, countdown=countdown or None)


_publisher: Publisher = celery_publisher


def install(publisher: Publisher) -> Publisher:
    """Make ``publisher`` the one every saga message goes through; returns the one it replaces."""
    global _publisher
    previous, _publisher = _publisher, publisher
    return previous


def send(task: str, message: dict[str, Any], *, countdown: float = 0.0) -> None:
    """Send now. A broker error is logged, not raised: whatever the message reports has
    committed, and the sweeper re-sends the step when its deadline passes."""
    try:
        _publisher(task, message, countdown)
    except Exception:
        logger.exception(
            "could not send %s for saga %s; the sweeper will re-send it", task, message.get("saga_id")
        )


def send_after_commit(task: str, message: dict[str, Any], *, countdown: float = 0.0) -> None:
    """Send once the current transaction commits, and never if it rolls back."""
    transaction.on_commit(lambda: send(task, message, countdown=countdown))
