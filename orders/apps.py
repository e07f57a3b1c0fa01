from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"

    def ready(self):
        # The engine finds saga definitions by type; importing the module registers them.
        from . import sagas  # noqa: F401
