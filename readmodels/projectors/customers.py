"""Customer summary and daily sales: counts and money over orders."""

from decimal import Decimal

from orders import events as orders
from payments import events as payments

from ..models import CustomerSummary, DailySales
from ..recorded import Recorded
from .base import PAID_STATUSES, RowProjector


class CustomerSummaryProjector(RowProjector):
    name = "customer_summary"
    model = CustomerSummary
    handles = {
        payments.CustomerRegistered: "_registered",
        payments.PaymentCharged: "_credit_changed",
        payments.PaymentRefunded: "_credit_changed",
        orders.OrderPlaced: "_order_placed",
        **dict.fromkeys(orders.ORDER_MOVES, "_order_moved"),
    }

    def keys(self, recorded: Recorded):
        return (recorded.event.customer_id,)

    def _registered(self, rows: dict, recorded: Recorded) -> None:
        registered: payments.CustomerRegistered = recorded.event
        rows[registered.customer_id] = CustomerSummary(
            customer_id=registered.customer_id,
            user_id=registered.user_id,
            name=registered.name,
            credit_limit=registered.credit_limit,
            credit_available=registered.credit_limit,
            last_position=recorded.position,
        )

    def _credit_changed(self, rows: dict, recorded: Recorded) -> None:
        payment: payments.PaymentEvent = recorded.event
        summary = rows.get(payment.customer_id)
        if summary is not None:
            summary.credit_available = payment.credit_available
            summary.last_position = recorded.position

    def _order_placed(self, rows: dict, recorded: Recorded) -> None:
        self._move(rows, recorded, None)

    def _order_moved(self, rows: dict, recorded: Recorded) -> None:
        self._move(rows, recorded, recorded.event.previous_status)

    def _move(self, rows: dict, recorded: Recorded, previous: str | None) -> None:
        order: orders.OrderEvent = recorded.event
        summary = rows.get(order.customer_id)
        if summary is None:
            return
        current = order.status
        counts = dict(summary.orders_by_status)
        if previous is None:
            summary.orders_count += 1
        else:
            counts[previous] = counts.get(previous, 0) - 1
            if counts[previous] <= 0:
                del counts[previous]
        counts[current] = counts.get(current, 0) + 1
        summary.orders_by_status = counts
        if current in PAID_STATUSES and previous not in PAID_STATUSES:
            summary.total_spent += order.total
        elif previous in PAID_STATUSES and current not in PAID_STATUSES:
            summary.total_spent -= order.total
        summary.last_position = recorded.position


class DailySalesProjector(RowProjector):
    """Counts per UTC day of the event. Revenue: confirmed totals less cancelled totals."""

    name = "daily_sales"
    model = DailySales
    handles = {
        orders.OrderPlaced: "_placed",
        orders.OrderConfirmed: "_confirmed",
        orders.OrderCancelled: "_cancelled",
        orders.OrderShipped: "_shipped",
        orders.OrderRejected: "_rejected",
    }

    def keys(self, recorded: Recorded):
        return (recorded.occurred_at.date(),)

    def _placed(self, rows: dict, recorded: Recorded) -> None:
        self._day(rows, recorded).orders_placed += 1

    def _confirmed(self, rows: dict, recorded: Recorded) -> None:
        day = self._day(rows, recorded)
        day.orders_confirmed += 1
        day.revenue += recorded.event.total

    def _cancelled(self, rows: dict, recorded: Recorded) -> None:
        day = self._day(rows, recorded)
        day.orders_cancelled += 1
        day.revenue -= recorded.event.total

    def _shipped(self, rows: dict, recorded: Recorded) -> None:
        self._day(rows, recorded).orders_shipped += 1

    def _rejected(self, rows: dict, recorded: Recorded) -> None:
        day = self._day(rows, recorded)
        day.orders_rejected += 1
        reason = recorded.event.failure_code or "UNKNOWN"
        day.rejected_by_reason = {**day.rejected_by_reason, reason: day.rejected_by_reason.get(reason, 0) + 1}

    def _day(self, rows: dict, recorded: Recorded) -> DailySales:
        day = recorded.occurred_at.date()
        row = rows.get(day)
        if row is None:
            row = rows[day] = DailySales(day=day, revenue=Decimal(0))
        return row
