from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, connections
from django.http import JsonResponse
from django.shortcuts import redirect
from django.templatetags.static import static
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from config.celery import app as celery_app
from readmodels import projection, runner
from readmodels.wiring import PROJECTOR_NAMES

from .models import WorkerHeartbeat

BROKER_TIMEOUT_SECONDS = 2


def _database_state(alias: str) -> dict:
    try:
        with connections[alias].cursor() as cursor:
            cursor.execute("SELECT 1")
        return {"ok": True, "vendor": connections[alias].vendor}
    except DatabaseError as error:
        return {"ok": False, "error": str(error).strip()[:200]}


def _broker_state() -> dict:
    try:
        with celery_app.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, interval_start=0, timeout=BROKER_TIMEOUT_SECONDS)
            return {"ok": True, "transport": connection.transport_cls}
    except Exception as error:  # kombu raises transport-specific errors; any of them means down
        return {"ok": False, "error": str(error).strip()[:200]}


def _worker_state() -> dict:
    fresh_after = timezone.now() - timedelta(seconds=3 * settings.HEARTBEAT_INTERVAL_SECONDS)
    try:
        heartbeats = list(WorkerHeartbeat.objects.filter(last_seen_at__gte=fresh_after))
    except DatabaseError:
        return {"alive": [], "ok": False}
    return {"ok": bool(heartbeats), "alive": [beat.hostname for beat in heartbeats]}


def _projection_state() -> dict:
    try:
        lags = projection.lag(PROJECTOR_NAMES)
        last_run = runner.pulse()
    except DatabaseError:
        return {"ok": False, "projectors": {}}
    behind = max((lag.events_behind for lag in lags), default=0)
    return {
        "ok": not any(lag.last_error for lag in lags),
        "runner": {
            "runs": last_run.runs_started,
            "last_run_started_at": last_run.last_run_started_at,
            "last_run_finished_at": last_run.last_run_finished_at,
            "last_beat_at": last_run.beat_at,
            "stalled": runner.stalled(last_run, events_behind=behind),
        },
        "projectors": {
            lag.projector: {
                "position": lag.position,
                "events_behind": lag.events_behind,
                "seconds_behind": lag.seconds_behind,
                "unknown_events": lag.unknown_events,
                "rescued_events": lag.rescued_events,
                "failures": lag.failures,
                "last_error": lag.last_error or None,
            }
            for lag in lags
        },
    }


@never_cache
@require_GET
def healthz(request):
    """Liveness and readiness in one: 200 when both databases and the broker answer, else 503.

    Workers and projection lag are reported, not judged: a stopped worker makes commands wait,
    it does not make this process unable to serve.
    """
    body = {
        "database": _database_state("default"),
        "read_database": _database_state("read"),
        "broker": _broker_state(),
    }
    healthy = all(part["ok"] for part in body.values())
    body["workers"] = _worker_state()
    body["projection"] = _projection_state()
    body["status"] = "ok" if healthy else "unavailable"
    return JsonResponse(body, status=200 if healthy else 503)


def favicon(request):
    return redirect(static("drf_spectacular_sidecar/swagger-ui-dist/favicon-32x32.png"), permanent=True)
