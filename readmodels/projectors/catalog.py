"""Product availability: price and stock per sku."""

from decimal import Decimal

from eventlog.models import Event

from ..models import ProductAvailability
from .base import RowProjector

STOCK_CHANGES = ("StockReserved", "StockReleased", "StockShipped")


class ProductAvailabilityProjector(RowProjector):
    name = "product_availability"
    model = ProductAvailability
    shared_handlers = {"_lines_changed": ("StockRestocked", *STOCK_CHANGES)}

    def keys(self, event: Event):
        return [line["sku"] for line in _lines(event)]

    def on_ProductAdded(self, rows: dict, event: Event) -> None:
        data = event.data
        rows[data["sku"]] = ProductAvailability(
            sku=data["sku"],
            name=data["name"],
            price=Decimal(data["price"]),
            on_hand=data["on_hand"],
            reserved=0,
            available=data["on_hand"],
            updated_at=event.occurred_at,
            last_position=event.position,
        )

    def _lines_changed(self, rows: dict, event: Event) -> None:
        """Events carry the stock after the change, so applying one sets rather than adds."""
        for line in _lines(event):
            product = rows.get(line["sku"])
            if product is None:
                continue
            product.on_hand = line["on_hand"]
            product.reserved = line["reserved"]
            product.available = line["on_hand"] - line["reserved"]
            product.updated_at = event.occurred_at
            product.last_position = event.position


def _lines(event: Event) -> list[dict]:
    return [event.data] if event.type in ("ProductAdded", "StockRestocked") else event.data["lines"]
