"""The events the orders context appends to the event log, one frozen record per type.

Every order event carries the order's state after it (status, version, total), so a projection
needs no lookup. Readers may import this module and nothing else of orders.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import ClassVar
from uuid import UUID

from eventlog.contracts import DomainEvent


@dataclass(frozen=True)
class PlacedLine:
    sku: str
    name: str
    quantity: int
    unit_price: Decimal
    line_total: Decimal


@dataclass(frozen=True)
class ShippingAddress:
    name: str
    line1: str
    city: str
    postal_code: str
    country: str


@dataclass(frozen=True, kw_only=True)
class OrderEvent(DomainEvent):
    AGGREGATE: ClassVar[str] = "order"
    order_id: UUID
    customer_id: UUID
    status: str
    version: int
    total: Decimal


@dataclass(frozen=True, kw_only=True)
class OrderPlaced(OrderEvent):
    TYPE: ClassVar[str] = "OrderPlaced"
    items: tuple[PlacedLine, ...]
    shipping_address: ShippingAddress


@dataclass(frozen=True, kw_only=True)
class OrderMoved(OrderEvent):
    """An order's status changed from ``previous_status`` to ``status``."""

    previous_status: str


@dataclass(frozen=True, kw_only=True)
class OrderConfirmed(OrderMoved):
    TYPE: ClassVar[str] = "OrderConfirmed"


@dataclass(frozen=True, kw_only=True)
class OrderRejected(OrderMoved):
    TYPE: ClassVar[str] = "OrderRejected"
    failure_code: str
    failure_reason: str


@dataclass(frozen=True, kw_only=True)
class OrderCancellationRequested(OrderMoved):
    TYPE: ClassVar[str] = "OrderCancellationRequested"


@dataclass(frozen=True, kw_only=True)
class OrderCancelled(OrderMoved):
    TYPE: ClassVar[str] = "OrderCancelled"


@dataclass(frozen=True, kw_only=True)
class OrderShipped(OrderMoved):
    TYPE: ClassVar[str] = "OrderShipped"


ORDER_MOVES: tuple[type[OrderMoved], ...] = (
    OrderConfirmed,
    OrderRejected,
    OrderCancellationRequested,
    OrderCancelled,
    OrderShipped,
)
