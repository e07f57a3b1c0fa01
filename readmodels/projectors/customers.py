"""Customer summary and daily sales: counts and money over orders."""

from decimal import Decimal

from eventlog.models import Event

from ..models import CustomerSummary, DailySales
from .base import PAID_STATUSES, RowProjector

ORDER_TRANSITIONS = (
    "OrderConfirmed",
    "OrderRejected",
    "OrderCancellationRequested",
    "OrderCancelled",
    "OrderShipped",
)


class CustomerSummaryProjector(RowProjector):
    name = "customer_summary"
    model = CustomerSummary
    shared_handlers = {"_order_moved": ORDER_TRANSITIONS}

    def keys(self, event: Event):
        return (event.data["customer_id"],)

    def on_CustomerRegistered(self, rows: dict, event: Event) -> None:
        data = event.data
        rows[data["customer_id"]] = CustomerSummary(
            customer_id=data["customer_id"],
            user_id=data["user_id"],
            name=data["name"],
            credit_limit=Decimal(data["credit_limit"]),
            credit_available=Decimal(data["credit_limit"]),
            last_position=event.position,
        )

    def on_PaymentCharged(self, rows: dict, event: Event) -> None:
        self._set_credit(rows, event)

    def on_PaymentRefunded(self, rows: dict, event: Event) -> None:
        self._set_credit(rows, event)

    def _set_credit(self, rows: dict, event: Event) -> None:
        summary = rows.get(event.data["customer_id"])
        if summary is not None:
            summary.credit_available = Decimal(event.data["credit_available"])
            summary.last_position = event.position

    def on_OrderPlaced(self, rows: dict, event: Event) -> None:
        self._move(rows, event, None, event.data["status"])

    def _order_moved(self, rows: dict, event: Event) -> None:
        self._move(rows, event, event.data["previous_status"], event.data["status"])

    def _move(self, rows: dict, event: Event, previous: str | None, current: str) -> None:
        summary = rows.get(event.data["customer_id"])
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


class DailySalesProjector(RowProjector):
    """Counts per UTC day of the event. Revenue: confirmed totals less cancelled totals."""

    name = "daily_sales"
    model = DailySales

    def keys(self, event: Event):
        return (event.occurred_at.date(),)

    def on_OrderPlaced(self, rows: dict, event: Event) -> None:
        self._day(rows, event).orders_placed += 1

    def on_OrderConfirmed(self, rows: dict, event: Event) -> None:
        day = self._day(rows, event)
        day.orders_confirmed += 1
        day.revenue += Decimal(event.data["total"])

    def on_OrderCancelled(self, rows: dict, event: Event) -> None:
        day = self._day(rows, event)
        day.orders_cancelled += 1
        day.revenue -= Decimal(event.data["total"])

    def on_OrderShipped(self, rows: dict, event: Event) -> None:
        self._day(rows, event).orders_shipped += 1

    def on_OrderRejected(self, rows: dict, event: Event) -> None:
        day = self._day(rows, event)
        day.orders_rejected += 1
        reason = event.data.get("failure_code") or "UNKNOWN"
        day.rejected_by_reason = {**day.rejected_by_reason, reason: day.rejected_by_reason.get(reason, 0) + 1}

    def _day(self, rows: dict, event: Event) -> DailySales:
        day = event.occurred_at.date()
        row = rows.get(day)
        if row is None:
            row = rows[day] = DailySales(day=day, revenue=Decimal(0))
        return row
