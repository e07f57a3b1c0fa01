"""Invariants of the read side: read models agree with the write side, and a rebuild from the
event log gives exactly the rows live projection produced."""

from decimal import Decimal

from django.db import transaction
from django.db.models import Count, Sum

from eventlog.services import event_log_head
from inventory.models import Product
from orders.models import Order
from payments.models import Customer
from readmodels import projection
from readmodels.models import CustomerSummary, OrderSummary, ProductAvailability, ProjectorCheckpoint
from readmodels.projectors.base import PAID_STATUSES, READ_ALIAS
from readmodels.wiring import KNOWN_EVENTS, PROJECTOR_NAMES, PROJECTORS

from .checks import Check

NOT_CAUGHT_UP = "projection has not reached the head of the log"
SHOWN = 5


def caught_up() -> bool:
    head = event_log_head()
    positions = list(
        ProjectorCheckpoint.objects.filter(projector__in=PROJECTOR_NAMES).values_list("position", flat=True)
    )
    return len(positions) == len(PROJECTOR_NAMES) and min(positions) >= head


def _verdict(name: str, projected: bool, wrong: list[str]) -> Check:
    if not projected:
        return Check(name, True, NOT_CAUGHT_UP, checked=False)
    return Check(
        name,
        not wrong,
        "; ".join(wrong[:SHOWN]) + (f" (+{len(wrong) - SHOWN} more)" if len(wrong) > SHOWN else ""),
    )


def check_orders(projected: bool) -> Check:
    summaries = {summary.order_id: summary for summary in OrderSummary.objects.all()}
    wrong = []
    for order in Order.objects.all():
        summary = summaries.pop(order.pk, None)
        if summary is None:
            wrong.append(f"order {order.pk} missing")
            continue
        seen = (summary.status, summary.total, summary.failure_reason, summary.version, summary.saga_id)
        truth = (order.status, order.total, order.failure_reason, order.version, order.saga_id)
        if seen != truth:
            wrong.append(f"order {order.pk}: read {seen}, write {truth}")
    wrong += [f"order {order_id} exists only on the read side" for order_id in summaries]
    return _verdict("read models: order summaries = orders", projected, wrong)


def check_products(projected: bool) -> Check:
    read = {
        row.sku: (row.name, row.price, row.on_hand, row.reserved, row.available)
        for row in ProductAvailability.objects.all()
    }
    write = {p.sku: (p.name, p.price, p.on_hand, p.reserved, p.available) for p in Product.objects.all()}
    wrong = [
        f"{sku}: read {read.get(sku)}, write {write.get(sku)}"
        for sku in set(read) | set(write)
        if read.get(sku) != write.get(sku)
    ]
    return _verdict("read models: product availability = stock", projected, wrong)


def check_customers(projected: bool) -> Check:
    by_status: dict = {}
    for customer_id, status, count in Order.objects.values_list("customer_id", "status").annotate(
        count=Count("pk")
    ):
        by_status.setdefault(customer_id, {})[status] = count
    spent = dict(
        Order.objects.filter(status__in=PAID_STATUSES).values_list("customer_id").annotate(total=Sum("total"))
    )
    summaries = {summary.customer_id: summary for summary in CustomerSummary.objects.all()}
    wrong = []
    for customer in Customer.objects.all():
        summary = summaries.get(customer.pk)
        if summary is None:
            wrong.append(f"customer {customer.pk} missing")
            continue
        counts = by_status.get(customer.pk, {})
        seen = (summary.credit_available, summary.orders_by_status, summary.orders_count, summary.total_spent)
        truth = (
            customer.credit_available,
            counts,
            sum(counts.values()),
            spent.get(customer.pk, Decimal("0")),
        )
        if seen != truth:
            wrong.append(f"customer {customer.pk}: read {seen}, write {truth}")
    return _verdict("read models: customer summaries = customers and their orders", projected, wrong)


def _snapshot() -> dict[str, list[dict]]:
    return {
        model._meta.label: list(model.objects.order_by("pk").values())
        for projector in PROJECTORS
        for model in projector.models
    }


def check_rebuild_identical(projected: bool) -> Check:
    """Rebuild every read model inside a transaction, compare, and roll the rebuild back."""
    name = "read models: a rebuild from the log equals live projection"
    if not projected:
        return Check(name, True, NOT_CAUGHT_UP, checked=False)
    live = _snapshot()
    with transaction.atomic(using=READ_ALIAS):
        for projector in PROJECTORS:
            projection.rebuild(projector, KNOWN_EVENTS)
        rebuilt = _snapshot()
        transaction.set_rollback(True, using=READ_ALIAS)
    wrong = []
    for label, rows in live.items():
        if rows != rebuilt[label]:
            differing = [pair for pair in zip(rows, rebuilt[label], strict=False) if pair[0] != pair[1]]
            wrong.append(
                f"{label}: {len(rows)} live rows, {len(rebuilt[label])} rebuilt, first difference {differing[:1]}"
            )
    return Check(name, not wrong, "; ".join(wrong))
