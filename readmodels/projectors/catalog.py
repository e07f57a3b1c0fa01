"""Product availability: price and stock per sku."""

from eventlog.models import Event

from ..models import ProductAvailability
from .base import Projector, upsert


class ProductAvailabilityProjector(Projector):
    name = "product_availability"
    models = (ProductAvailability,)

    def on_ProductAdded(self, event: Event) -> None:
        data = event.data
        upsert(
            ProductAvailability,
            sku=data["sku"],
            defaults={
                "name": data["name"],
                "price": data["price"],
                "on_hand": data["on_hand"],
                "reserved": 0,
                "available": data["on_hand"],
                "updated_at": event.occurred_at,
                "last_position": event.position,
            },
        )

    def on_StockRestocked(self, event: Event) -> None:
        self._set_stock(event, [event.data])

    def on_StockReserved(self, event: Event) -> None:
        self._set_stock(event, event.data["lines"])

    def on_StockReleased(self, event: Event) -> None:
        self._set_stock(event, event.data["lines"])

    def on_StockShipped(self, event: Event) -> None:
        self._set_stock(event, event.data["lines"])

    def _set_stock(self, event: Event, lines: list[dict]) -> None:
        """Events carry the stock after the change, so applying one sets rather than adds."""
        for line in lines:
            ProductAvailability.objects.filter(sku=line["sku"]).update(
                on_hand=line["on_hand"],
                reserved=line["reserved"],
                available=line["on_hand"] - line["reserved"],
                updated_at=event.occurred_at,
                last_position=event.position,
            )
