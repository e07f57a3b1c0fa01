"""Prometheus metrics: saga and projection figures read from the databases at scrape time, and
HTTP latencies observed by the web processes.

Sagas move in many processes at once (every gunicorn worker, every Celery pool child); counters
each process kept in memory would each see a part of the work. The databases see all of it, so
``DatabaseCollector`` answers each scrape with a handful of aggregate queries. HTTP latencies
exist only in the web processes; with ``PROMETHEUS_MULTIPROC_DIR`` set, prometheus-client
shares them between gunicorn workers through files in that directory. See docs/OBSERVABILITY.md.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from datetime import timedelta

from django.db import DatabaseError
from django.db.models import Count, DurationField, ExpressionWrapper, F, Q, Sum
from django.db.models.fields.json import KT
from django.utils import timezone
from prometheus_client import REGISTRY, CollectorRegistry, Histogram, multiprocess
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

from eventlog.models import Event
from readmodels import projection
from readmodels.models import OrderSummary
from readmodels.wiring import PROJECTOR_NAMES
from sagas.definition import registered_types
from sagas.models import Saga, SagaStep

logger = logging.getLogger(__name__)

MULTIPROCESS_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
# From a step's first command to its last reply, retries included: milliseconds when healthy,
# tens of seconds when a step waits for the sweeper.
STEP_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)
# The saga events that end or start a saga, and the counter each one feeds. The event log is
# append-only, so these counts only grow, as Prometheus counters must.
SAGA_EVENT_COUNTERS = {
    "SagaStarted": "started",
    "SagaCompleted": "completed",
    "SagaCompensated": "compensated",
    "SagaFailed": "failed",
}
COUNTERS_WITH_REASON = ("compensated", "failed")

HTTP_REQUEST_DURATION = Histogram(
    "http_request_duration_seconds",
    "Time the web process took to answer, by URL pattern (not path, so ids add no series).",
    ["method", "route", "status"],
)


def multiprocess_mode() -> bool:
    return bool(os.environ.get(MULTIPROCESS_DIR_VARIABLE))


def register_database_collector() -> None:
    """In one process the default registry serves; in multiprocess mode each scrape builds its
    own (``scrape_registry``), as prometheus-client requires."""
    if not multiprocess_mode():
        REGISTRY.register(DatabaseCollector())


def scrape_registry() -> CollectorRegistry:
    if not multiprocess_mode():
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    registry.register(DatabaseCollector())
    return registry


class DatabaseCollector(Collector):
    def describe(self):
        # Nothing to announce: registering must not query a database that may not exist yet.
        return []

    def collect(self) -> Iterator:
        up = GaugeMetricFamily(
            "metrics_database_up", "1 when this scrape could read the saga and read-model figures."
        )
        try:
            families = [*saga_counters(), *saga_states(), step_durations(), *projection_lag(), orders()]
        except DatabaseError:
            logger.warning("metrics: the databases did not answer", exc_info=True)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families


def saga_counters() -> list[CounterMetricFamily]:
    families = {
        name: CounterMetricFamily(
            f"sagas_{name}",
            f"Sagas {name}, by saga type" + (" and failure code." if name in COUNTERS_WITH_REASON else "."),
            labels=["type", "reason"] if name in COUNTERS_WITH_REASON else ["type"],
        )
        for name in SAGA_EVENT_COUNTERS.values()
    }
    counts = (
        Event.objects.filter(aggregate_type="saga", type__in=SAGA_EVENT_COUNTERS)
        .values("type", saga_type=KT("data__type"), reason=KT("data__failure_code"))
        .annotate(count=Count("pk"))
    )
    seen = set()
    for row in counts:
        name = SAGA_EVENT_COUNTERS[row["type"]]
        labels = (
            [row["saga_type"], row["reason"] or ""] if name in COUNTERS_WITH_REASON else [row["saga_type"]]
        )
        families[name].add_metric(labels, row["count"])
        seen.add((name, row["saga_type"]))
    # Every saga type shows from the first scrape, so a rate over it starts at zero.
    for name in ("started", "completed"):
        for saga_type in registered_types():
            if (name, saga_type) not in seen:
                families[name].add_metric([saga_type], 0)
    return list(families.values())


def saga_states() -> list[GaugeMetricFamily]:
    in_state = GaugeMetricFamily("sagas_in_state", "Sagas now in each state.", labels=["type", "state"])
    overdue = GaugeMetricFamily(
        "sagas_overdue", "Running sagas whose step has passed its deadline.", labels=["type"]
    )
    rows = Saga.objects.values("type", "state").annotate(
        count=Count("pk"),
        overdue=Count("pk", filter=Q(state__in=Saga.ACTIVE_STATES, deadline_at__lt=timezone.now())),
    )
    overdue_by_type: dict[str, int] = dict.fromkeys(registered_types(), 0)
    for row in rows:
        in_state.add_metric([row["type"], row["state"]], row["count"])
        overdue_by_type[row["type"]] = overdue_by_type.get(row["type"], 0) + row["overdue"]
    for saga_type, count in overdue_by_type.items():
        overdue.add_metric([saga_type], count)
    return [in_state, overdue]


def step_durations() -> HistogramMetricFamily:
    """Bucket counts computed by the database: one row per (saga type, step, direction, status)."""
    family = HistogramMetricFamily(
        "saga_step_duration_seconds",
        "Finished saga steps, from the first command sent to the last reply, retries included.",
        labels=["saga_type", "step", "direction", "status"],
    )
    duration = ExpressionWrapper(F("finished_at") - F("started_at"), output_field=DurationField())
    buckets = {
        f"le_{index}": Count("pk", filter=Q(duration__lte=timedelta(seconds=bound)))
        for index, bound in enumerate(STEP_BUCKETS)
    }
    rows = (
        SagaStep.objects.filter(finished_at__isnull=False)
        .alias(duration=duration)
        .values("name", "direction", "status", saga_type=F("saga__type"))
        .annotate(count=Count("pk"), total=Sum("duration"), **buckets)
        .order_by("saga_type", "name", "direction", "status")
    )
    for row in rows:
        family.add_metric(
            [row["saga_type"], row["name"], row["direction"], row["status"]],
            buckets=[
                *((str(bound), row[f"le_{index}"]) for index, bound in enumerate(STEP_BUCKETS)),
                ("+Inf", row["count"]),
            ],
            sum_value=max(row["total"], timedelta(0)).total_seconds(),
        )
    return family


def projection_lag() -> list:
    labels = ["projector"]
    events = GaugeMetricFamily("readmodels_projection_lag_events", "Events not yet applied.", labels=labels)
    seconds = GaugeMetricFamily(
        "readmodels_projection_lag_seconds", "Age of the oldest event not yet applied.", labels=labels
    )
    position = GaugeMetricFamily(
        "readmodels_projector_position", "Last event position applied.", labels=labels
    )
    failures = CounterMetricFamily(
        "readmodels_projection_failures", "Batches a projector failed to apply.", labels=labels
    )
    for lag in projection.lag(PROJECTOR_NAMES):
        events.add_metric([lag.projector], lag.events_behind)
        seconds.add_metric([lag.projector], lag.seconds_behind)
        position.add_metric([lag.projector], lag.position)
        failures.add_metric([lag.projector], lag.failures)
    return [events, seconds, position, failures]


def orders() -> GaugeMetricFamily:
    family = GaugeMetricFamily(
        "orders_in_status", "Orders now in each status (read model).", labels=["status"]
    )
    for row in OrderSummary.objects.values("status").annotate(count=Count("pk")).order_by("status"):
        family.add_metric([row["status"]], row["count"])
    return family
