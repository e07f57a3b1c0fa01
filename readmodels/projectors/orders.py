"""Order summary and order timeline: what the order endpoints answer."""

from collections.abc import Sequence
from decimal import Decimal

from eventlog.models import Event

from ..models import OrderSummary, OrderTimelineEntry
from .base import Projector, RowProjector

ORDER_AGGREGATE = "order"
SAGA_EVENTS = (
    "SagaStarted",
    "SagaStepStarted",
    "SagaCompensationStarted",
    "SagaCompleted",
    "SagaCompensated",
    "SagaFailed",
    "SagaRetried",
)
STATUS_CHANGES = (
    "OrderConfirmed",
    "OrderRejected",
    "OrderCancellationRequested",
    "OrderCancelled",
    "OrderShipped",
)
PAYMENT_STATUS = {"PaymentCharged": "CHARGED", "PaymentDeclined": "DECLINED", "PaymentRefunded": "REFUNDED"}
SHIPMENT_STATUS = {
    "ShipmentScheduled": "SCHEDULED",
    "ShipmentFailed": "FAILED",
    "ShipmentCancelled": "CANCELLED",
    "ShipmentDispatched": "DISPATCHED",
}


class OrderSummaryProjector(RowProjector):
    name = "order_summary"
    model = OrderSummary
    shared_handlers = {
        "_saga_progressed": SAGA_EVENTS,
        "_status_changed": STATUS_CHANGES,
        "_payment_changed": tuple(PAYMENT_STATUS),
        "_shipment_changed": tuple(SHIPMENT_STATUS),
    }

    def keys(self, event: Event):
        if event.type in SAGA_EVENTS:
            subject_id = event.data.get("subject_id")
            return () if subject_id is None else (subject_id,)
        return (event.data["order_id"],)

    def on_OrderPlaced(self, rows: dict, event: Event) -> None:
        data = event.data
        rows[data["order_id"]] = OrderSummary(
            order_id=data["order_id"],
            customer_id=data["customer_id"],
            status=data["status"],
            items=data["items"],
            total=Decimal(data["total"]),
            saga_id=event.saga_id,
            created_at=event.occurred_at,
            updated_at=event.occurred_at,
            version=data["version"],
            last_position=event.position,
        )

    def _status_changed(self, rows: dict, event: Event) -> None:
        summary = self._touched(rows, event)
        if summary is not None:
            summary.status = event.data["status"]
            summary.version = event.data["version"]
            summary.saga_id = event.saga_id
            if event.type == "OrderRejected":
                summary.failure_reason = event.data["failure_reason"]

    def _payment_changed(self, rows: dict, event: Event) -> None:
        summary = self._touched(rows, event)
        if summary is not None:
            summary.payment_status = PAYMENT_STATUS[event.type]

    def _shipment_changed(self, rows: dict, event: Event) -> None:
        summary = self._touched(rows, event)
        if summary is not None:
            summary.shipment_status = SHIPMENT_STATUS[event.type]
            if event.type == "ShipmentScheduled":
                summary.tracking_number = event.data["tracking_number"]

    def _touched(self, rows: dict, event: Event) -> OrderSummary | None:
        summary = rows.get(event.data["order_id"])
        if summary is not None:
            summary.updated_at = event.occurred_at
            summary.last_position = event.position
        return summary

    def _saga_progressed(self, rows: dict, event: Event) -> None:
        """The order shows the saga driving it now; an older saga's late news is not shown."""
        summary = rows.get(event.data.get("subject_id"))
        if summary is None or str(summary.saga_id) != str(event.saga_id):
            return
        summary.saga_state = event.data["state"]
        summary.saga_current_step = event.data["current_step"]
        summary.last_position = event.position


class OrderTimelineProjector(Projector):
    """Every event of an order's aggregate, as it happened."""

    name = "order_timeline"
    models = (OrderTimelineEntry,)

    def handled_types(self) -> frozenset[str]:
        # Whatever happens to an order's aggregate is on its timeline, whatever its type.
        return frozenset()

    def apply_batch(self, events: Sequence[Event]) -> None:
        # An entry, once written, never changes; applied once (the checkpoint moves with it), so
        # a second INSERT of the same position is a bug that must fail, not be ignored.
        OrderTimelineEntry.objects.bulk_create(
            [
                OrderTimelineEntry(
                    position=event.position,
                    order_id=event.aggregate_id,
                    type=event.type,
                    occurred_at=event.occurred_at,
                    data=event.data,
                )
                for event in events
                if event.aggregate_type == ORDER_AGGREGATE
            ]
        )
