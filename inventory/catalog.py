"""The catalogue as other contexts may ask for it: names and current prices by sku.

Orders reaches this through ``settings.ORDERS_CATALOG`` rather than an import, so contexts stay
independent and the dependency is declared in one place.
"""

from collections.abc import Iterable

from .models import Product


def product_snapshots(skus: Iterable[str]) -> dict[str, dict]:
    return {
        sku: {"sku": sku, "name": name, "price": price}
        for sku, name, price in Product.objects.filter(sku__in=set(skus)).values_list("sku", "name", "price")
    }
