from celery import shared_task

from . import wiring
from .runner import PROJECT_TASK


@shared_task(name=PROJECT_TASK, ignore_result=True)
def project() -> int:
    """The projection runner: woken by commits, it applies what they appended."""
    return wiring.run().applied


@shared_task(name="readmodels.catch_up", ignore_result=True)
def catch_up() -> int:
    """Apply whatever live projection left behind: a crash after commit, a failed projector."""
    return wiring.rescue_stalled().applied
