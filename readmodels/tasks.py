from celery import shared_task

from . import wiring


@shared_task(name="readmodels.catch_up", ignore_result=True)
def catch_up() -> int:
    """Apply whatever live projection left behind: a crash after commit, a failed projector."""
    return wiring.rescue_stalled().applied
