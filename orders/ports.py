"""What orders needs from other contexts, reached through settings instead of imports.

``ORDERS_CATALOG`` names a module with ``product_snapshots(skus) -> {sku: {"name", "price"}}``;
``ORDERS_CUSTOMERS`` one with ``customer_id_for_user(user_id)`` and ``customer_exists(id)``.
Settings are the composition root: contexts never import each other, and what orders depends on
is written down in one place (and replaceable in tests).
"""

from importlib import import_module
from types import ModuleType

from django.conf import settings


def catalog() -> ModuleType:
    return import_module(settings.ORDERS_CATALOG)


def customers() -> ModuleType:
    return import_module(settings.ORDERS_CUSTOMERS)
