"""What the dashboard shows, read with a fixed number of queries whatever the volume of data.

Saga figures come from the saga tables (write database), the rest from the read models. Counts
are aggregated by the database; latency percentiles come from a bounded sample of the newest
finished sagas, and the busiest products from a bounded sample of the newest orders.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Q
from django.db.models.functions import Trunc
from django.utils import timezone

from readmodels import projection, runner
from readmodels.models import DailySales, OrderSummary, ProductAvailability, ProjectionRunner
from readmodels.wiring import PROJECTOR_NAMES
from sagas.models import Saga

LATENCY_SAMPLE = 5000
ORDER_SAMPLE = 2000
BUSIEST_PRODUCTS = 8
ATTENTION_LIMIT = 8
SALES_DAYS = 14
PERCENTILES = (50, 95, 99)


@dataclass(frozen=True)
class Window:
    key: str
    label: str
    span: timedelta
    unit: str  # what Trunc cuts the timeline into: "minute" or "hour"

    @property
    def bucket(self) -> timedelta:
        return timedelta(minutes=1) if self.unit == "minute" else timedelta(hours=1)

    def buckets(self, now: datetime) -> list[datetime]:
        """Bucket starts from the first one the window touches up to the current one."""
        current = now.replace(second=0, microsecond=0)
        if self.unit == "hour":
            current = current.replace(minute=0)
        count = int(self.span / self.bucket)
        return [current - self.bucket * offset for offset in reversed(range(count))]


WINDOWS = {
    window.key: window
    for window in (
        Window("15m", "15 minutes", timedelta(minutes=15), "minute"),
        Window("1h", "1 hour", timedelta(hours=1), "minute"),
        Window("24h", "24 hours", timedelta(hours=24), "hour"),
        Window("7d", "7 days", timedelta(days=7), "hour"),
    )
}
# Short enough for the bars of a demo or an incident to stand out.
DEFAULT_WINDOW = WINDOWS["15m"]


@dataclass(frozen=True)
class LatencySample:
    saga_type: str
    finished_at: datetime
    seconds: float


@dataclass(frozen=True)
class StockLevel:
    sku: str
    name: str
    on_hand: int
    reserved: int
    available: int
    ordered: int  # units ordered in the window


@dataclass(frozen=True)
class Snapshot:
    now: datetime
    window: Window
    since: datetime
    saga_states: dict[str, int]
    overdue: int
    outcomes: dict[tuple[datetime, str, str], int]  # (bucket, state, failure code) -> sagas
    started: dict[tuple[datetime, str], int]  # (bucket, saga type) -> sagas
    latencies: list[LatencySample]
    attention: list[Saga]
    order_statuses: dict[str, int]
    daily_sales: list[DailySales]
    stock: list[StockLevel]
    stock_ranked_by_orders: bool
    lag: list[projection.Lag]
    runner: ProjectionRunner


def snapshot(window: Window, *, now: datetime | None = None) -> Snapshot:
    now = now or timezone.now()
    since = window.buckets(now)[0]
    states, overdue = saga_state_counts(now)
    stock, ranked = busiest_stock(since)
    return Snapshot(
        now=now,
        window=window,
        since=since,
        saga_states=states,
        overdue=overdue,
        outcomes=saga_outcomes(since, window.unit),
        started=sagas_started(since, window.unit),
        latencies=saga_latencies(since),
        attention=sagas_needing_attention(now),
        order_statuses=dict(OrderSummary.objects.values_list("status").annotate(count=Count("pk"))),
        daily_sales=list(DailySales.objects.order_by("-day")[:SALES_DAYS])[::-1],
        stock=stock,
        stock_ranked_by_orders=ranked,
        lag=projection.lag(PROJECTOR_NAMES),
        runner=runner.pulse(),
    )


def saga_state_counts(now: datetime) -> tuple[dict[str, int], int]:
    rows = Saga.objects.values("state").annotate(
        count=Count("pk"), overdue=Count("pk", filter=Q(state__in=Saga.ACTIVE_STATES, deadline_at__lt=now))
    )
    states = dict.fromkeys(Saga.State.values, 0)
    overdue = 0
    for row in rows:
        states[row["state"]] = row["count"]
        overdue += row["overdue"]
    return states, overdue


def saga_outcomes(since: datetime, unit: str) -> dict[tuple[datetime, str, str], int]:
    rows = (
        Saga.objects.filter(finished_at__gte=since)
        .annotate(bucket=Trunc("finished_at", unit))
        .values_list("bucket", "state", "failure_code")
        .annotate(count=Count("pk"))
        .order_by()
    )
    return {(bucket, state, code): count for bucket, state, code, count in rows}


def sagas_started(since: datetime, unit: str) -> dict[tuple[datetime, str], int]:
    rows = (
        Saga.objects.filter(created_at__gte=since)
        .annotate(bucket=Trunc("created_at", unit))
        .values_list("bucket", "type")
        .annotate(count=Count("pk"))
        .order_by()
    )
    return {(bucket, saga_type): count for bucket, saga_type, count in rows}


def saga_latencies(since: datetime) -> list[LatencySample]:
    rows = (
        Saga.objects.filter(finished_at__gte=since)
        .order_by("-finished_at")
        .values_list("type", "created_at", "finished_at")[:LATENCY_SAMPLE]
    )
    return [
        LatencySample(saga_type, finished, max((finished - created).total_seconds(), 0.0))
        for saga_type, created, finished in rows
    ]


def sagas_needing_attention(now: datetime) -> list[Saga]:
    """FAILED sagas wait for a person; overdue ones for the sweeper, or a person if it cannot."""
    return list(
        Saga.objects.filter(
            Q(state=Saga.State.FAILED) | Q(state__in=Saga.ACTIVE_STATES, deadline_at__lt=now)
        ).only("id", "type", "state", "current_step", "failure_code", "updated_at", "subject_id")[
            :ATTENTION_LIMIT
        ]
    )


def busiest_stock(since: datetime) -> tuple[list[StockLevel], bool]:
    """Products by units ordered in the window; with no orders, those closest to running out.
    The second value tells which ranking it is. Rejected orders do not count: an order for more
    than the shop has would rank a product by what nobody got."""
    ordered: Counter[str] = Counter()
    recent = OrderSummary.objects.filter(created_at__gte=since).exclude(status="REJECTED")
    for items in recent.values_list("items", flat=True)[:ORDER_SAMPLE]:
        for item in items:
            ordered[item["sku"]] += item["quantity"]
    if ordered:
        top = [sku for sku, _ in ordered.most_common(BUSIEST_PRODUCTS)]
        products = {product.sku: product for product in ProductAvailability.objects.filter(sku__in=top)}
        chosen = [products[sku] for sku in top if sku in products]
    else:
        chosen = list(ProductAvailability.objects.order_by("available", "sku")[:BUSIEST_PRODUCTS])
    levels = [StockLevel(p.sku, p.name, p.on_hand, p.reserved, p.available, ordered[p.sku]) for p in chosen]
    return levels, bool(ordered)


def percentile(sorted_values: list[float], rank: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    if not sorted_values:
        return 0.0
    index = max(int(-(-rank * len(sorted_values) // 100)) - 1, 0)
    return sorted_values[min(index, len(sorted_values) - 1)]


@dataclass(frozen=True)
class LatencySummary:
    saga_type: str
    count: int
    percentiles: dict[int, float]
    slowest: float


def latency_by_type(samples: list[LatencySample]) -> list[LatencySummary]:
    by_type: dict[str, list[float]] = defaultdict(list)
    for sample in samples:
        by_type[sample.saga_type].append(sample.seconds)
    summaries = []
    for saga_type, values in sorted(by_type.items()):
        values.sort()
        summaries.append(
            LatencySummary(
                saga_type,
                len(values),
                {rank: percentile(values, rank) for rank in PERCENTILES},
                values[-1],
            )
        )
    return summaries
