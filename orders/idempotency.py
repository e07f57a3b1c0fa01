"""``Idempotency-Key`` for commands: the same key and body get the same answer, once."""

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from .models import IdempotencyRecord


@dataclass(frozen=True)
class StoredResponse:
    status: int
    body: dict
    headers: dict = field(default_factory=dict)


class KeyReused(Exception):
    """The key was already used for a different request."""


def fingerprint(*, method: str, path: str, body) -> str:
    canonical = json.dumps({"method": method, "path": path, "body": body}, sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def replay_or_run(
    *, user, key: str, request_fingerprint: str, run: Callable[[], StoredResponse]
) -> StoredResponse:
    """Answer from the record of ``key`` if there is one, else ``run`` the command and record
    its answer in the same transaction.

    A concurrent request with the same key blocks on the unique index until the first commits;
    its insert then fails, its own work rolls back, and it replays the first one's answer.
    """
    try:
        return _replay_or_run_once(user, key, request_fingerprint, run)
    except IntegrityError:
        return _replay_or_run_once(user, key, request_fingerprint, run)


@transaction.atomic
def _replay_or_run_once(user, key, request_fingerprint, run) -> StoredResponse:
    record = IdempotencyRecord.objects.filter(user=user, key=key).first()
    if record is not None:
        if record.fingerprint != request_fingerprint:
            raise KeyReused(key)
        return StoredResponse(record.response_status, record.response_body, record.response_headers)
    response = run()
    IdempotencyRecord.objects.create(
        user=user,
        key=key,
        fingerprint=request_fingerprint,
        response_status=response.status,
        response_body=response.body,
        response_headers=response.headers,
    )
    return response


def purge_expired() -> int:
    cutoff = timezone.now() - timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted
