from django.apps import AppConfig


class ObservabilityConfig(AppConfig):
    name = "observability"
    verbose_name = "Observability"

    def ready(self):
        from . import metrics, tasklogs

        metrics.register_database_collector()
        tasklogs.connect()
