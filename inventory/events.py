"""The events the inventory context appends to the event log, one frozen record per type.

Stock events carry each product's stock after the change, so a projection sets, never adds.
Readers may import this module and nothing else of inventory.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import ClassVar
from uuid import UUID

from eventlog.contracts import DomainEvent


@dataclass(frozen=True)
class StockLevel:
    """A line of a reservation, with its product's stock after the change."""

    sku: str
    quantity: int
    on_hand: int
    reserved: int


@dataclass(frozen=True)
class Shortage:
    sku: str
    requested: int
    available: int


@dataclass(frozen=True, kw_only=True)
class ProductAdded(DomainEvent):
    TYPE: ClassVar[str] = "ProductAdded"
    AGGREGATE: ClassVar[str] = "product"
    sku: str
    name: str
    price: Decimal
    on_hand: int


@dataclass(frozen=True, kw_only=True)
class StockRestocked(DomainEvent):
    TYPE: ClassVar[str] = "StockRestocked"
    AGGREGATE: ClassVar[str] = "product"
    sku: str
    quantity: int
    on_hand: int
    reserved: int


# A reservation is the stock held for one order (``StockReservation.order_id`` is unique), so
# it is known by that order's id, a refused one that left no row included.
@dataclass(frozen=True, kw_only=True)
class ReservationEvent(DomainEvent):
    AGGREGATE: ClassVar[str] = "reservation"
    order_id: UUID


@dataclass(frozen=True, kw_only=True)
class StockReservationFailed(ReservationEvent):
    TYPE: ClassVar[str] = "StockReservationFailed"
    shortages: tuple[Shortage, ...]


@dataclass(frozen=True, kw_only=True)
class StockChanged(ReservationEvent):
    lines: tuple[StockLevel, ...]


@dataclass(frozen=True, kw_only=True)
class StockReserved(StockChanged):
    TYPE: ClassVar[str] = "StockReserved"


@dataclass(frozen=True, kw_only=True)
class StockReleased(StockChanged):
    TYPE: ClassVar[str] = "StockReleased"


@dataclass(frozen=True, kw_only=True)
class StockShipped(StockChanged):
    TYPE: ClassVar[str] = "StockShipped"
