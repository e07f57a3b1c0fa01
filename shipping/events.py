"""The events the shipping context appends to the event log, one frozen record per type.

Readers may import this module and nothing else of shipping.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar
from uuid import UUID

from eventlog.contracts import DomainEvent


# A shipment is the parcel of one order (``Shipment.order_id`` is unique), so it is known by
# that order's id, a refused one that left no row included.
@dataclass(frozen=True, kw_only=True)
class ShipmentEvent(DomainEvent):
    AGGREGATE: ClassVar[str] = "shipment"
    order_id: UUID


@dataclass(frozen=True, kw_only=True)
class ShipmentScheduled(ShipmentEvent):
    TYPE: ClassVar[str] = "ShipmentScheduled"
    tracking_number: str
    country: str


@dataclass(frozen=True, kw_only=True)
class ShipmentFailed(ShipmentEvent):
    TYPE: ClassVar[str] = "ShipmentFailed"
    country: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class ShipmentCancelled(ShipmentEvent):
    TYPE: ClassVar[str] = "ShipmentCancelled"
    tracking_number: str


@dataclass(frozen=True, kw_only=True)
class ShipmentDispatched(ShipmentEvent):
    TYPE: ClassVar[str] = "ShipmentDispatched"
    tracking_number: str
