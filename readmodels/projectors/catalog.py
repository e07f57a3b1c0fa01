"""Product availability: price and stock per sku."""

from inventory import events as inventory

from ..models import ProductAvailability
from ..recorded import Recorded
from .base import RowProjector

STOCK_CHANGES = (inventory.StockReserved, inventory.StockReleased, inventory.StockShipped)


class ProductAvailabilityProjector(RowProjector):
    name = "product_availability"
    model = ProductAvailability
    handles = {
        inventory.ProductAdded: "_added",
        inventory.StockRestocked: "_restocked",
        **dict.fromkeys(STOCK_CHANGES, "_reservation_changed"),
    }

    def keys(self, recorded: Recorded):
        event = recorded.event
        if isinstance(event, inventory.StockChanged):
            return [line.sku for line in event.lines]
        return (event.sku,)

    def _added(self, rows: dict, recorded: Recorded) -> None:
        added: inventory.ProductAdded = recorded.event
        rows[added.sku] = ProductAvailability(
            sku=added.sku,
            name=added.name,
            price=added.price,
            on_hand=added.on_hand,
            reserved=0,
            available=added.on_hand,
            updated_at=recorded.occurred_at,
            last_position=recorded.position,
        )

    def _restocked(self, rows: dict, recorded: Recorded) -> None:
        restocked: inventory.StockRestocked = recorded.event
        self._set(rows, recorded, restocked.sku, restocked.on_hand, restocked.reserved)

    def _reservation_changed(self, rows: dict, recorded: Recorded) -> None:
        changed: inventory.StockChanged = recorded.event
        for line in changed.lines:
            self._set(rows, recorded, line.sku, line.on_hand, line.reserved)

    def _set(self, rows: dict, recorded: Recorded, sku: str, on_hand: int, reserved: int) -> None:
        """Events carry the stock after the change, so applying one sets rather than adds."""
        product = rows.get(sku)
        if product is None:
            return
        product.on_hand = on_hand
        product.reserved = reserved
        product.available = on_hand - reserved
        product.updated_at = recorded.occurred_at
        product.last_position = recorded.position
