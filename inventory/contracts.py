"""What the inventory context accepts and answers in a saga: its commands and failure codes.

Other contexts may import this module and nothing else of inventory: it holds the schema of
the messages, not the code that acts on them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import ClassVar, Protocol
from uuid import UUID

from sagas.contracts import Command

OUT_OF_STOCK = "OUT_OF_STOCK"  # a business failure: reserve_stock found too few units
NOT_RESERVED = "NOT_RESERVED"  # ship_stock found no reservation to ship


class _Line(Protocol):
    sku: str
    quantity: int


class _Order(Protocol):
    order_id: UUID


class _OrderWithLines(_Order, Protocol):
    lines: Iterable[_Line]


@dataclass(frozen=True)
class StockLine:
    sku: str
    quantity: int


@dataclass(frozen=True)
class ReserveStock(Command):
    """Hold every line's units for the order, or none of them (``OUT_OF_STOCK``)."""

    TASK: ClassVar[str] = "inventory.reserve_stock"
    order_id: UUID
    lines: tuple[StockLine, ...]

    @classmethod
    def for_order(cls, order: _OrderWithLines) -> ReserveStock:
        return cls(order.order_id, tuple(StockLine(line.sku, line.quantity) for line in order.lines))


@dataclass(frozen=True)
class ReleaseStock(Command):
    """Give back the order's held units, if it holds any."""

    TASK: ClassVar[str] = "inventory.release_stock"
    order_id: UUID

    @classmethod
    def for_order(cls, order: _Order) -> ReleaseStock:
        return cls(order.order_id)


@dataclass(frozen=True)
class ShipStock(Command):
    """The order's held units leave the warehouse (``NOT_RESERVED`` if it holds none)."""

    TASK: ClassVar[str] = "inventory.ship_stock"
    order_id: UUID

    @classmethod
    def for_order(cls, order: _Order) -> ShipStock:
        return cls(order.order_id)
