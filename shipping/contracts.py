"""What the shipping context accepts and answers in a saga: its commands and failure codes.

Other contexts may import this module and nothing else of shipping.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Protocol
from uuid import UUID

from sagas.contracts import Command

UNDELIVERABLE = "UNDELIVERABLE"  # a business failure: no carrier serves the address
NOT_SCHEDULED = "NOT_SCHEDULED"  # dispatch_shipment found no scheduled parcel


class _Address(Protocol):
    name: str
    line1: str
    city: str
    postal_code: str
    country: str


class _Order(Protocol):
    order_id: UUID


class _OrderToShip(_Order, Protocol):
    address: _Address


@dataclass(frozen=True)
class Address:
    name: str
    line1: str
    city: str
    postal_code: str
    country: str


@dataclass(frozen=True)
class ScheduleShipment(Command):
    """Book a parcel for the order (``UNDELIVERABLE`` if no carrier serves the address)."""

    TASK: ClassVar[str] = "shipping.schedule_shipment"
    order_id: UUID
    address: Address

    @classmethod
    def for_order(cls, order: _OrderToShip) -> ScheduleShipment:
        to = order.address
        return cls(order.order_id, Address(to.name, to.line1, to.city, to.postal_code, to.country))


@dataclass(frozen=True)
class CancelShipment(Command):
    """Cancel the order's parcel, if one is scheduled."""

    TASK: ClassVar[str] = "shipping.cancel_shipment"
    order_id: UUID

    @classmethod
    def for_order(cls, order: _Order) -> CancelShipment:
        return cls(order.order_id)


@dataclass(frozen=True)
class DispatchShipment(Command):
    """The order's parcel leaves (``NOT_SCHEDULED`` if none is scheduled)."""

    TASK: ClassVar[str] = "shipping.dispatch_shipment"
    order_id: UUID

    @classmethod
    def for_order(cls, order: _Order) -> DispatchShipment:
        return cls(order.order_id)
