from uuid import UUID

from celery import shared_task
from django.db import OperationalError

from . import engine


@shared_task(
    name="sagas.record_reply",
    ignore_result=True,
    # A lock timeout or a dropped connection is worth another try before the sweeper steps in.
    autoretry_for=(OperationalError,),
    retry_backoff=0.5,
    retry_jitter=True,
    max_retries=5,
)
def record_reply(
    *,
    saga_id: str,
    step: str,
    direction: str,
    attempt: int,
    outcome: str,
    result: dict,
    error_code: str = "",
    error: str = "",
) -> None:
    engine.reply_record(
        saga_id=UUID(saga_id),
        step=step,
        direction=direction,
        attempt=attempt,
        outcome=engine.Outcome(outcome),
        result=result,
        error_code=error_code,
        error=error,
    )


@shared_task(name="sagas.sweep_overdue", ignore_result=True)
def sweep_overdue() -> int:
    return engine.sweep_overdue()
