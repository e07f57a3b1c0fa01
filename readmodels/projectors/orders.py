"""Order summary and order timeline: what the order endpoints answer."""

from collections.abc import Sequence

from inventory import events as inventory
from orders import events as orders
from payments import events as payments
from sagas import events as sagas
from shipping import events as shipping

from ..models import OrderSummary, OrderTimelineEntry
from ..recorded import Recorded
from .base import Projector, RowProjector

PAYMENT_STATUS = {
    payments.PaymentCharged: "CHARGED",
    payments.PaymentDeclined: "DECLINED",
    payments.PaymentRefunded: "REFUNDED",
}
SHIPMENT_STATUS = {
    shipping.ShipmentScheduled: "SCHEDULED",
    shipping.ShipmentFailed: "FAILED",
    shipping.ShipmentCancelled: "CANCELLED",
    shipping.ShipmentDispatched: "DISPATCHED",
}


class OrderSummaryProjector(RowProjector):
    name = "order_summary"
    model = OrderSummary
    handles = {
        orders.OrderPlaced: "_placed",
        **dict.fromkeys(orders.ORDER_MOVES, "_status_changed"),
        **dict.fromkeys(PAYMENT_STATUS, "_payment_changed"),
        **dict.fromkeys(SHIPMENT_STATUS, "_shipment_changed"),
        **dict.fromkeys(sagas.SAGA_EVENTS, "_saga_progressed"),
    }

    def keys(self, recorded: Recorded):
        # Everything that follows an order names it as its correlation; a saga without a
        # subject has none.
        return () if recorded.correlation_id is None else (recorded.correlation_id,)

    def _placed(self, rows: dict, recorded: Recorded) -> None:
        placed: orders.OrderPlaced = recorded.event
        rows[placed.order_id] = OrderSummary(
            order_id=placed.order_id,
            customer_id=placed.customer_id,
            status=placed.status,
            items=recorded.data["items"],
            total=placed.total,
            saga_id=recorded.saga_id,
            created_at=recorded.occurred_at,
            updated_at=recorded.occurred_at,
            version=placed.version,
            last_position=recorded.position,
        )

    def _status_changed(self, rows: dict, recorded: Recorded) -> None:
        moved: orders.OrderMoved = recorded.event
        summary = self._touched(rows, recorded)
        if summary is not None:
            summary.status = moved.status
            summary.version = moved.version
            summary.saga_id = recorded.saga_id
            if isinstance(moved, orders.OrderRejected):
                summary.failure_reason = moved.failure_reason

    def _payment_changed(self, rows: dict, recorded: Recorded) -> None:
        summary = self._touched(rows, recorded)
        if summary is not None:
            summary.payment_status = PAYMENT_STATUS[type(recorded.event)]

    def _shipment_changed(self, rows: dict, recorded: Recorded) -> None:
        summary = self._touched(rows, recorded)
        if summary is not None:
            summary.shipment_status = SHIPMENT_STATUS[type(recorded.event)]
            if isinstance(recorded.event, shipping.ShipmentScheduled):
                summary.tracking_number = recorded.event.tracking_number

    def _touched(self, rows: dict, recorded: Recorded) -> OrderSummary | None:
        summary = rows.get(recorded.correlation_id)
        if summary is not None:
            summary.updated_at = recorded.occurred_at
            summary.last_position = recorded.position
        return summary

    def _saga_progressed(self, rows: dict, recorded: Recorded) -> None:
        """The order shows the saga driving it now; an older saga's late news is not shown."""
        progressed: sagas.SagaEvent = recorded.event
        summary = rows.get(recorded.correlation_id)
        if summary is None or summary.saga_id != progressed.saga_id:
            return
        summary.saga_state = progressed.state
        summary.saga_current_step = progressed.current_step
        summary.last_position = recorded.position


# What an order's timeline shows: the domain events that follow it, not its saga's bookkeeping.
TIMELINE_EVENTS = (
    orders.OrderPlaced,
    *orders.ORDER_MOVES,
    inventory.StockReserved,
    inventory.StockReservationFailed,
    inventory.StockReleased,
    inventory.StockShipped,
    *PAYMENT_STATUS,
    *SHIPMENT_STATUS,
)


class OrderTimelineProjector(Projector):
    """Every domain event that follows an order (its correlation), as it happened."""

    name = "order_timeline"
    models = (OrderTimelineEntry,)
    # Every type is written the same way, a batch at a time: the batch is each type's handler.
    handles = dict.fromkeys(TIMELINE_EVENTS, "apply_batch")

    def apply_batch(self, events: Sequence[Recorded]) -> None:
        # An entry, once written, never changes; applied once (the checkpoint moves with it), so
        # a second INSERT of the same position is a bug that must fail, not be ignored.
        OrderTimelineEntry.objects.bulk_create(
            [
                OrderTimelineEntry(
                    position=recorded.position,
                    order_id=recorded.correlation_id,
                    type=recorded.type,
                    occurred_at=recorded.occurred_at,
                    data=recorded.data,
                )
                for recorded in events
                if recorded.correlation_id is not None
            ]
        )
