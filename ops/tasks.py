from celery import shared_task

from . import services


@shared_task(name="ops.heartbeat", bind=True, ignore_result=True)
def heartbeat(self) -> None:
    services.heartbeat_record(hostname=self.request.hostname or "unknown")
