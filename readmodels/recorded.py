"""Events as the read side reads them back: the log's metadata and the typed event.

Events appended before they carried correlation ids, and while inventory, payments and shipping
still filed theirs under the order's aggregate, are read through ``upcast``: the rows stay as
they were written, and every reader sees them in today's shape.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any
from uuid import UUID

from eventlog.contracts import DomainEvent
from eventlog.models import Event

# Where each type lived before it had an aggregate of its own.
_MOVED_FROM_THE_ORDER = {
    "StockReserved": "reservation",
    "StockReservationFailed": "reservation",
    "StockReleased": "reservation",
    "StockShipped": "reservation",
    "PaymentCharged": "payment",
    "PaymentDeclined": "payment",
    "PaymentRefunded": "payment",
    "ShipmentScheduled": "shipment",
    "ShipmentFailed": "shipment",
    "ShipmentCancelled": "shipment",
    "ShipmentDispatched": "shipment",
}


class Recorded:
    """One event of the log: where and when it was recorded, what it belongs to, what it was
    part of and caused by, and ``event``, the typed record (checked when first asked for, so a
    malformed one fails the projector that reads it, at its position)."""

    def __init__(self, row: Event, kind: type[DomainEvent]):
        self.position: int = row.position
        self.type: str = row.type
        self.occurred_at = row.occurred_at
        self.saga_id: UUID | None = row.saga_id
        self.causation_id: str = row.causation_id
        self.data: dict[str, Any] = row.data
        self.aggregate_type, self.aggregate_id, self.correlation_id = upcast(row)
        self._kind = kind

    @cached_property
    def event(self) -> Any:
        return self._kind.from_data(self.data)

    def __repr__(self) -> str:
        return f"Recorded(#{self.position} {self.type})"


def upcast(row: Event) -> tuple[str, str, UUID | None]:
    """The row's aggregate type, aggregate id and correlation id in today's shape."""
    if row.correlation_id is not None or row.aggregate_type not in ("order", "saga"):
        return row.aggregate_type, row.aggregate_id, _uuid(row.correlation_id)
    if row.aggregate_type == "saga":
        return row.aggregate_type, row.aggregate_id, _uuid(row.data.get("subject_id"))
    return _MOVED_FROM_THE_ORDER.get(row.type, "order"), row.aggregate_id, _uuid(row.aggregate_id)


def _uuid(value) -> UUID | None:
    return None if value is None else UUID(str(value))
