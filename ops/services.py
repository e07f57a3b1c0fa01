from django.db import transaction
from django.db.models import F
from django.utils import timezone

from .models import RelayFinish, WorkerHeartbeat


@transaction.atomic
def heartbeat_record(*, hostname: str) -> None:
    now = timezone.now()
    updated = WorkerHeartbeat.objects.filter(hostname=hostname).update(last_seen_at=now, beats=F("beats") + 1)
    if not updated:
        WorkerHeartbeat.objects.get_or_create(hostname=hostname, defaults={"last_seen_at": now, "beats": 1})


def relay_finished(*, run: str, chain: int) -> None:
    RelayFinish.objects.get_or_create(run=run, chain=chain)
