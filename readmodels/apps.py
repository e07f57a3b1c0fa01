from django.apps import AppConfig


class ReadmodelsConfig(AppConfig):
    name = "readmodels"

    def ready(self):
        # Connects the projectors to eventlog's events_committed signal.
        from . import wiring  # noqa: F401
