from celery import shared_task
from celery.signals import worker_shutting_down
from django.conf import settings

from . import runner, wiring
from .runner import PROJECT_TASK


@shared_task(name=PROJECT_TASK, ignore_result=True)
def project() -> int:
    """The projection runner: woken by commits, it applies what they appended and lingers while
    more keep coming."""
    return wiring.run(linger=settings.READMODELS_RUNNER_LINGER_SECONDS).applied


@shared_task(name="readmodels.catch_up", ignore_result=True)
def catch_up() -> int:
    """Apply whatever live projection left behind: a crash after commit, a failed projector."""
    return wiring.rescue_stalled().applied


@worker_shutting_down.connect(weak=False)
def _end_a_lingering_run(**kwargs) -> None:
    # Sent in the worker's main process, where a solo pool (the projection worker) runs its task.
    runner.stop_lingering.set()
