"""Customer summary and daily sales: counts and money over orders."""

from collections.abc import Callable
from decimal import Decimal

from django.db.models import F

from eventlog.models import Event

from ..models import CustomerSummary, DailySales
from .base import PAID_STATUSES, Projector, upsert

ORDER_TRANSITIONS = (
    "OrderConfirmed",
    "OrderRejected",
    "OrderCancellationRequested",
    "OrderCancelled",
    "OrderShipped",
)


class CustomerSummaryProjector(Projector):
    name = "customer_summary"
    models = (CustomerSummary,)

    def on_CustomerRegistered(self, event: Event) -> None:
        data = event.data
        upsert(
            CustomerSummary,
            customer_id=data["customer_id"],
            defaults={
                "user_id": data["user_id"],
                "name": data["name"],
                "credit_limit": data["credit_limit"],
                "credit_available": data["credit_limit"],
                "last_position": event.position,
            },
        )

    def on_PaymentCharged(self, event: Event) -> None:
        self._set_credit(event)

    def on_PaymentRefunded(self, event: Event) -> None:
        self._set_credit(event)

    def _set_credit(self, event: Event) -> None:
        CustomerSummary.objects.filter(customer_id=event.data["customer_id"]).update(
            credit_available=event.data["credit_available"], last_position=event.position
        )

    def on_OrderPlaced(self, event: Event) -> None:
        self._move(event, None, event.data["status"])

    def apply(self, event: Event) -> bool:
        if event.type in ORDER_TRANSITIONS:
            self._move(event, event.data["previous_status"], event.data["status"])
            return True
        return super().apply(event)

    def handled_types(self) -> set[str]:
        return super().handled_types() | set(ORDER_TRANSITIONS)

    def _move(self, event: Event, previous: str | None, current: str) -> None:
        summary = (
            CustomerSummary.objects.select_for_update().filter(customer_id=event.data["customer_id"]).first()
        )
        if summary is None:
            return
        counts = dict(summary.orders_by_status)
        if previous is None:
            summary.orders_count += 1
        else:
            counts[previous] = counts.get(previous, 0) - 1
            if counts[previous] <= 0:
                del counts[previous]
        counts[current] = counts.get(current, 0) + 1
        summary.orders_by_status = counts
        total = Decimal(event.data["total"])
        if current in PAID_STATUSES and previous not in PAID_STATUSES:
            summary.total_spent += total
        elif previous in PAID_STATUSES and current not in PAID_STATUSES:
            summary.total_spent -= total
        summary.last_position = event.position
        summary.save()


class DailySalesProjector(Projector):
    """Counts per UTC day of the event. Revenue: confirmed totals less cancelled totals."""

    name = "daily_sales"
    models = (DailySales,)

    def on_OrderPlaced(self, event: Event) -> None:
        self._count(event, orders_placed=1)

    def on_OrderConfirmed(self, event: Event) -> None:
        self._count(event, orders_confirmed=1, revenue=Decimal(event.data["total"]))

    def on_OrderCancelled(self, event: Event) -> None:
        self._count(event, orders_cancelled=1, revenue=-Decimal(event.data["total"]))

    def on_OrderShipped(self, event: Event) -> None:
        self._count(event, orders_shipped=1)

    def on_OrderRejected(self, event: Event) -> None:
        def add_reason(row: DailySales) -> None:
            reason = event.data.get("failure_code") or "UNKNOWN"
            row.rejected_by_reason = {
                **row.rejected_by_reason,
                reason: row.rejected_by_reason.get(reason, 0) + 1,
            }

        self._count(event, orders_rejected=1, also=add_reason)

    def _count(self, event: Event, also: Callable[[DailySales], None] | None = None, **increments) -> None:
        day = event.occurred_at.date()
        counted = DailySales.objects.filter(day=day).update(
            **{field: F(field) + value for field, value in increments.items()}
        )
        if not counted:
            DailySales.objects.create(day=day, **increments)
        if also is not None:
            row = DailySales.objects.select_for_update().get(day=day)
            also(row)
            row.save(update_fields=["rejected_by_reason"])
