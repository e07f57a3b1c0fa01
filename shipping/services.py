import secrets
from dataclasses import dataclass
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from eventlog.services import event_append

from . import events
from .contracts import Address
from .models import Shipment

TRACKING_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


@dataclass(frozen=True)
class ScheduleOutcome:
    shipment: Shipment | None
    reason: str = ""


def _tracking_number() -> str:
    return "TRK" + "".join(secrets.choice(TRACKING_ALPHABET) for _ in range(12))


def _append(event: events.ShipmentEvent, saga_id: UUID) -> None:
    event_append(event, aggregate_id=event.order_id, correlation_id=event.order_id, saga_id=saga_id)


@transaction.atomic(savepoint=False)
def shipment_schedule(*, saga_id: UUID, order_id: UUID, address: Address) -> ScheduleOutcome:
    """Book a parcel for the order, if its country is one we ship to."""
    existing = Shipment.objects.filter(order_id=order_id).first()
    if existing is not None:
        return ScheduleOutcome(existing)
    country = address.country
    if country not in settings.SHIPPING_COUNTRIES:
        reason = f"we do not ship to {country}"
        _append(events.ShipmentFailed(order_id=order_id, country=country, reason=reason), saga_id)
        return ScheduleOutcome(None, reason)
    shipment = Shipment.objects.create(
        order_id=order_id,
        saga_id=saga_id,
        tracking_number=_tracking_number(),
        recipient_name=address.name,
        line1=address.line1,
        city=address.city,
        postal_code=address.postal_code,
        country=country,
    )
    _append(
        events.ShipmentScheduled(
            order_id=order_id, tracking_number=shipment.tracking_number, country=country
        ),
        saga_id,
    )
    return ScheduleOutcome(shipment)


@transaction.atomic(savepoint=False)
def shipment_cancel_if_scheduled(*, saga_id: UUID, order_id: UUID) -> bool:
    """Cancel the order's parcel; none, or one already cancelled, is success with nothing to do."""
    shipment = Shipment.objects.select_for_update().filter(order_id=order_id).first()
    if shipment is None or shipment.status != Shipment.Status.SCHEDULED:
        return False
    shipment.status = Shipment.Status.CANCELLED
    shipment.save(update_fields=["status", "updated_at"])
    _append(events.ShipmentCancelled(order_id=order_id, tracking_number=shipment.tracking_number), saga_id)
    return True


@transaction.atomic(savepoint=False)
def shipment_dispatch(*, saga_id: UUID, order_id: UUID) -> bool:
    """The parcel leaves. False if there is no scheduled parcel to send."""
    shipment = Shipment.objects.select_for_update().filter(order_id=order_id).first()
    if shipment is None:
        return False
    if shipment.status == Shipment.Status.DISPATCHED:
        return True
    if shipment.status != Shipment.Status.SCHEDULED:
        return False
    shipment.status = Shipment.Status.DISPATCHED
    shipment.dispatched_at = timezone.now()
    shipment.save(update_fields=["status", "dispatched_at", "updated_at"])
    _append(events.ShipmentDispatched(order_id=order_id, tracking_number=shipment.tracking_number), saga_id)
    return True
