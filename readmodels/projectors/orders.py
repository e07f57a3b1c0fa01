"""Order summary and order timeline: what the order endpoints answer."""

from eventlog.models import Event

from ..models import OrderSummary, OrderTimelineEntry
from .base import Projector, upsert

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


class OrderSummaryProjector(Projector):
    name = "order_summary"
    models = (OrderSummary,)

    def on_OrderPlaced(self, event: Event) -> None:
        data = event.data
        upsert(
            OrderSummary,
            order_id=data["order_id"],
            defaults={
                "customer_id": data["customer_id"],
                "status": data["status"],
                "items": data["items"],
                "total": data["total"],
                "saga_id": event.saga_id,
                "created_at": event.occurred_at,
                "updated_at": event.occurred_at,
                "version": data["version"],
                "last_position": event.position,
            },
        )

    def _status_changed(self, event: Event, **extra) -> None:
        self._update(
            event,
            status=event.data["status"],
            version=event.data["version"],
            saga_id=event.saga_id,
            **extra,
        )

    def on_OrderConfirmed(self, event: Event) -> None:
        self._status_changed(event)

    def on_OrderRejected(self, event: Event) -> None:
        self._status_changed(event, failure_reason=event.data["failure_reason"])

    def on_OrderCancellationRequested(self, event: Event) -> None:
        self._status_changed(event)

    def on_OrderCancelled(self, event: Event) -> None:
        self._status_changed(event)

    def on_OrderShipped(self, event: Event) -> None:
        self._status_changed(event)

    def on_PaymentCharged(self, event: Event) -> None:
        self._update(event, payment_status="CHARGED")

    def on_PaymentDeclined(self, event: Event) -> None:
        self._update(event, payment_status="DECLINED")

    def on_PaymentRefunded(self, event: Event) -> None:
        self._update(event, payment_status="REFUNDED")

    def on_ShipmentScheduled(self, event: Event) -> None:
        self._update(event, shipment_status="SCHEDULED", tracking_number=event.data["tracking_number"])

    def on_ShipmentFailed(self, event: Event) -> None:
        self._update(event, shipment_status="FAILED")

    def on_ShipmentCancelled(self, event: Event) -> None:
        self._update(event, shipment_status="CANCELLED")

    def on_ShipmentDispatched(self, event: Event) -> None:
        self._update(event, shipment_status="DISPATCHED")

    def _update(self, event: Event, **fields) -> None:
        OrderSummary.objects.filter(order_id=event.data["order_id"]).update(
            updated_at=event.occurred_at, last_position=event.position, **fields
        )

    def apply(self, event: Event) -> bool:
        if event.type in SAGA_EVENTS:
            self._saga_progressed(event)
            return True
        return super().apply(event)

    def handled_types(self) -> set[str]:
        return super().handled_types() | set(SAGA_EVENTS)

    def _saga_progressed(self, event: Event) -> None:
        """The order shows the saga driving it now; an older saga's late news is not shown."""
        subject_id = event.data.get("subject_id")
        if subject_id is None:
            return
        OrderSummary.objects.filter(order_id=subject_id, saga_id=event.saga_id).update(
            saga_state=event.data["state"],
            saga_current_step=event.data["current_step"],
            last_position=event.position,
        )


class OrderTimelineProjector(Projector):
    """Every event of an order's aggregate, as it happened."""

    name = "order_timeline"
    models = (OrderTimelineEntry,)

    def apply(self, event: Event) -> bool:
        if event.aggregate_type != ORDER_AGGREGATE:
            return False
        # An entry, once written, never changes: one INSERT, and nothing if it is there already.
        OrderTimelineEntry.objects.bulk_create(
            [
                OrderTimelineEntry(
                    position=event.position,
                    order_id=event.aggregate_id,
                    type=event.type,
                    occurred_at=event.occurred_at,
                    data=event.data,
                )
            ],
            ignore_conflicts=True,
        )
        return True
