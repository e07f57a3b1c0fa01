"""The dashboard's panels: a snapshot of the system turned into counts that link to the admin
lists behind them, charts and tables. No query happens here; ``selectors.snapshot`` read it all."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

from django.contrib.admin.utils import quote
from django.urls import reverse

from readmodels import runner
from readmodels.models import DailySales
from sagas.models import Saga

from . import charts
from .selectors import PERCENTILES, LatencySummary, Snapshot, latency_by_type, percentile

# Compensation reasons the sagas declare get colours of their own; any other shares one.
REASON_COLOURS = {
    "OUT_OF_STOCK": "reason-stock",
    "PAYMENT_DECLINED": "reason-payment",
    "UNDELIVERABLE": "reason-shipping",
    "STEP_FAILED": "reason-step",
    "ABORTED": "reason-aborted",
}
TYPE_COLOURS = ("type-0", "type-1", "type-2", "type-3")
PERCENTILE_COLOURS = {50: "p50", 95: "p95", 99: "p99"}
ORDER_STATUSES = ("PENDING", "CONFIRMED", "REJECTED", "CANCELLING", "CANCELLED", "SHIPPED")
SALES_SERIES = (
    ("orders_placed", "placed", "sales-placed"),
    ("orders_confirmed", "confirmed", "sales-confirmed"),
    ("orders_rejected", "rejected", "sales-rejected"),
    ("orders_cancelled", "cancelled", "sales-cancelled"),
    ("orders_shipped", "shipped", "sales-shipped"),
)
SALES_TABLE_DAYS = 7


@dataclass(frozen=True)
class Tile:
    label: str
    value: str
    url: str
    alert: bool = False
    hint: str = ""


@dataclass(frozen=True)
class Attention:
    saga: Saga
    url: str
    overdue: bool  # else FAILED


@dataclass(frozen=True)
class Panels:
    snapshot: Snapshot
    tiles: list[Tile]
    order_tiles: list[Tile]
    outcomes: charts.Chart
    throughput: charts.Chart
    latency: charts.Chart
    latency_table: list[LatencySummary]
    lag: charts.Chart
    stock: charts.Chart
    sales: charts.Chart
    sales_table: list[DailySales]
    attention: list[Attention]


def admin_list(model: str, **filters) -> str:
    url = reverse(f"admin:{model}_changelist")
    return f"{url}?{urlencode(filters)}" if filters else url


def sagas_list(**filters) -> str:
    return admin_list("sagas_saga", **filters)


def saga_url(saga_id) -> str:
    return reverse("admin:sagas_saga_change", args=[quote(saga_id)])


def seconds(value: float) -> str:
    if value < 1:
        return f"{value * 1000:.0f} ms"
    if value < 120:
        return f"{value:.1f} s"
    return f"{value / 60:.1f} min"


def build(snapshot: Snapshot) -> Panels:
    buckets = snapshot.window.buckets(snapshot.now)
    labels = [bucket_label(bucket, snapshot.window.unit) for bucket in buckets]
    return Panels(
        snapshot=snapshot,
        tiles=saga_tiles(snapshot),
        order_tiles=[
            Tile(
                status,
                str(snapshot.order_statuses.get(status, 0)),
                admin_list("readmodels_ordersummary", status__exact=status),
            )
            for status in ORDER_STATUSES
        ],
        outcomes=outcomes_chart(snapshot, buckets, labels),
        throughput=throughput_chart(snapshot, buckets, labels),
        latency=latency_chart(snapshot, buckets, labels),
        latency_table=latency_by_type(snapshot.latencies),
        lag=lag_chart(snapshot),
        stock=stock_chart(snapshot),
        sales=sales_chart(snapshot.daily_sales),
        sales_table=snapshot.daily_sales[-SALES_TABLE_DAYS:][::-1],
        attention=[
            Attention(saga, saga_url(saga.pk), overdue=saga.state != Saga.State.FAILED)
            for saga in snapshot.attention
        ],
    )


def bucket_label(bucket: datetime, unit: str) -> str:
    return bucket.strftime("%H:%M" if unit == "minute" or bucket.hour else "%b %d")


def saga_tiles(snapshot: Snapshot) -> list[Tile]:
    states, since = snapshot.saga_states, snapshot.since.isoformat()
    finished = defaultdict(int)
    for (_, state, _), count in snapshot.outcomes.items():
        finished[state] += count
    started = sum(snapshot.started.values())
    minutes = snapshot.window.span.total_seconds() / 60
    place_order = sorted(sample.seconds for sample in snapshot.latencies if sample.saga_type == "place_order")
    worst_lag = max(snapshot.lag, key=lambda lag: lag.events_behind, default=None)
    return [
        Tile("running", str(states[Saga.State.RUNNING]), sagas_list(state__exact=Saga.State.RUNNING)),
        Tile(
            "compensating",
            str(states[Saga.State.COMPENSATING]),
            sagas_list(state__exact=Saga.State.COMPENSATING),
        ),
        Tile(
            "failed",
            str(states[Saga.State.FAILED]),
            sagas_list(state__exact=Saga.State.FAILED),
            alert=states[Saga.State.FAILED] > 0,
            hint="need a person: open one and retry",
        ),
        Tile(
            "overdue",
            str(snapshot.overdue),
            sagas_list(age="overdue"),
            alert=snapshot.overdue > 0,
            hint="deadline passed; the sweeper re-sends",
        ),
        Tile(
            f"completed in {snapshot.window.label}",
            str(finished[Saga.State.COMPLETED]),
            sagas_list(state__exact=Saga.State.COMPLETED, finished_at__gte=since),
        ),
        Tile(
            f"compensated in {snapshot.window.label}",
            str(finished[Saga.State.COMPENSATED]),
            sagas_list(state__exact=Saga.State.COMPENSATED, finished_at__gte=since),
        ),
        Tile(
            "started per minute",
            f"{started / minutes:.2g}" if started else "0",
            sagas_list(created_at__gte=since),
            hint=f"{started} in {snapshot.window.label}",
        ),
        Tile(
            "place order p95",
            seconds(percentile(place_order, 95)) if place_order else "none",
            sagas_list(type__exact="place_order", finished_at__gte=since),
            hint=f"{len(place_order)} finished",
        ),
        Tile(
            "projection lag",
            f"{worst_lag.events_behind} events" if worst_lag else "none",
            admin_list("readmodels_projectorcheckpoint"),
            alert=any(lag.last_error for lag in snapshot.lag),
            hint=f"{worst_lag.seconds_behind:.1f} s behind, {worst_lag.projector}" if worst_lag else "",
        ),
        runner_tile(snapshot, events_behind=worst_lag.events_behind if worst_lag else 0),
    ]


def runner_tile(snapshot: Snapshot, *, events_behind: int) -> Tile:
    last = snapshot.runner
    started = last.last_run_started_at
    stalled = runner.stalled(last, events_behind=events_behind, now=snapshot.now)
    return Tile(
        "projection runner",
        f"{seconds((snapshot.now - started).total_seconds())} ago" if started else "never run",
        admin_list("readmodels_projectionrunner"),
        alert=stalled,
        hint="stalled: is a worker serving the readmodels queue?"
        if stalled
        else f"{last.runs_started} runs, last applied {last.last_run_applied}",
    )


def outcomes_chart(snapshot: Snapshot, buckets: list[datetime], labels: list[str]) -> charts.Chart:
    since = snapshot.since.isoformat()
    reasons = sorted({code for (_, state, code) in snapshot.outcomes if state == Saga.State.COMPENSATED})
    series = [
        charts.Series(
            "COMPLETED", "completed", "ok", sagas_list(state__exact="COMPLETED", finished_at__gte=since)
        ),
        *(
            charts.Series(
                f"COMPENSATED:{code}",
                f"compensated · {code or 'no reason'}",
                REASON_COLOURS.get(code, "reason-other"),
                sagas_list(state__exact="COMPENSATED", failure_code=code, finished_at__gte=since),
            )
            for code in reasons
        ),
        charts.Series("FAILED", "failed", "bad", sagas_list(state__exact="FAILED", finished_at__gte=since)),
    ]
    counts: dict[tuple[datetime, str], int] = defaultdict(int)
    for (bucket, state, code), count in snapshot.outcomes.items():
        counts[bucket, f"{state}:{code}" if state == Saga.State.COMPENSATED else state] += count
    totals = defaultdict(int)
    for (_, key), count in counts.items():
        totals[key] += count
    return charts.stacked_bars(
        "Saga outcomes",
        labels,
        series,
        lambda index, key: counts.get((buckets[index], key), 0),
        total=lambda item: str(totals[item.key]),
    )


def throughput_chart(snapshot: Snapshot, buckets: list[datetime], labels: list[str]) -> charts.Chart:
    minutes = snapshot.window.bucket.total_seconds() / 60
    types = sorted({saga_type for (_, saga_type) in snapshot.started})
    series = [
        charts.Series(
            saga_type,
            saga_type,
            TYPE_COLOURS[index % len(TYPE_COLOURS)],
            sagas_list(type__exact=saga_type, created_at__gte=snapshot.since.isoformat()),
        )
        for index, saga_type in enumerate(types)
    ]
    totals = defaultdict(int)
    for (_, saga_type), count in snapshot.started.items():
        totals[saga_type] += count
    return charts.stacked_bars(
        "Sagas started per minute",
        labels,
        series,
        lambda index, key: snapshot.started.get((buckets[index], key), 0) / minutes,
        total=lambda item: str(totals[item.key]),
    )


def latency_chart(snapshot: Snapshot, buckets: list[datetime], labels: list[str]) -> charts.Chart:
    step = snapshot.window.bucket
    by_bucket: dict[int, list[float]] = defaultdict(list)
    first = buckets[0]
    for sample in snapshot.latencies:
        index = int((sample.finished_at - first) / step)
        if 0 <= index < len(buckets):
            by_bucket[index].append(sample.seconds)
    for values in by_bucket.values():
        values.sort()
    series = [charts.Series(str(rank), f"p{rank}", PERCENTILE_COLOURS[rank]) for rank in PERCENTILES]
    return charts.lines(
        "Saga latency percentiles",
        labels,
        series,
        lambda index, key: percentile(by_bucket[index], int(key)) if by_bucket.get(index) else None,
        fmt=seconds,
    )


def lag_chart(snapshot: Snapshot) -> charts.Chart:
    rows = []
    for lag in snapshot.lag:
        note = (
            "caught up"
            if not lag.events_behind
            else (f"{lag.events_behind} events, {lag.seconds_behind:.1f} s behind")
        )
        if lag.last_error:
            note += f" · failing: {lag.last_error[:60]}"
        rows.append(
            charts.Row(
                lag.projector,
                [charts.Segment(lag.events_behind, "lag-failing" if lag.last_error else "lag", note)],
                note,
                reverse("admin:readmodels_projectorcheckpoint_change", args=[quote(lag.projector)]),
            )
        )
    return charts.horizontal_bars("Projection lag per projector", rows)


def stock_chart(snapshot: Snapshot) -> charts.Chart:
    rows = [
        charts.Row(
            f"{level.sku} {level.name}"[:28],
            [
                charts.Segment(level.reserved, "reserved", f"{level.sku}: {level.reserved} reserved"),
                charts.Segment(level.available, "available", f"{level.sku}: {level.available} available"),
            ],
            f"{charts.compact_number(level.available)} free of {charts.compact_number(level.on_hand)}"
            + (
                f" · {charts.compact_number(level.ordered)} ordered"
                if snapshot.stock_ranked_by_orders
                else ""
            ),
            reverse("admin:readmodels_productavailability_change", args=[quote(level.sku)]),
        )
        for level in snapshot.stock
    ]
    legend = [
        charts.LegendEntry("reserved", "reserved", ""),
        charts.LegendEntry("available", "available", ""),
    ]
    title = (
        "Stock of the busiest products" if snapshot.stock_ranked_by_orders else "Stock closest to running out"
    )
    # Log scale: one product holding a billion units must not shrink the others' bars to nothing.
    return charts.horizontal_bars(title, rows, legend, log_scale=True)


def sales_chart(days: list[DailySales]) -> charts.Chart:
    labels = [day.day.strftime("%b %d") for day in days]
    return charts.lines(
        "Orders per day",
        labels,
        [charts.Series(field, label, css) for field, label, css in SALES_SERIES],
        lambda index, key: getattr(days[index], key),
    )
