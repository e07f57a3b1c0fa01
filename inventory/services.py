from decimal import Decimal

from django.db import transaction

from eventlog.services import event_append

from . import events
from .models import Product, StockMovement


@transaction.atomic
def product_create(*, sku: str, name: str, price: Decimal, stock: int) -> Product:
    product = Product.objects.create(sku=sku, name=name, price=price, on_hand=stock)
    if stock:
        StockMovement.objects.create(product=product, kind=StockMovement.Kind.RECEIVED, quantity=stock)
    event_append(
        aggregate_type=events.AGGREGATE,
        aggregate_id=sku,
        type=events.PRODUCT_ADDED,
        data={"sku": sku, "name": name, "price": price, "on_hand": stock},
    )
    return product


@transaction.atomic
def product_restock(*, sku: str, quantity: int) -> Product:
    """Add received units. Raises ``Product.DoesNotExist`` for an unknown sku."""
    if quantity < 1:
        raise ValueError("restock quantity must be positive")
    product = Product.objects.select_for_update().get(sku=sku)
    product.on_hand += quantity
    product.save(update_fields=["on_hand", "updated_at"])
    StockMovement.objects.create(product=product, kind=StockMovement.Kind.RESTOCKED, quantity=quantity)
    event_append(
        aggregate_type=events.AGGREGATE,
        aggregate_id=sku,
        type=events.STOCK_RESTOCKED,
        data={"sku": sku, "quantity": quantity, "on_hand": product.on_hand},
    )
    return product
