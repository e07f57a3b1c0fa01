import logging

from celery import shared_task
from django.db import OperationalError

from . import engine
from .protocol import REPLY_TASK, MalformedMessage, StepReply

logger = logging.getLogger(__name__)


@shared_task(
    name=REPLY_TASK,
    ignore_result=True,
    # A lock timeout or a dropped connection is worth another try before the sweeper steps in.
    autoretry_for=(OperationalError,),
    retry_backoff=0.5,
    retry_jitter=True,
    max_retries=5,
)
def record_reply(**message) -> None:
    try:
        reply = StepReply.from_message(message)
    except MalformedMessage:
        # Nothing is applied; the step's deadline passes and the sweeper asks again.
        logger.exception("refused a malformed saga reply")
        return
    engine.reply_record(reply)


@shared_task(name="sagas.sweep_overdue", ignore_result=True)
def sweep_overdue() -> int:
    return engine.sweep_overdue()
