from django.apps import AppConfig
from django.conf import settings


class SagasConfig(AppConfig):
    name = "sagas"

    def ready(self) -> None:
        # Off (production), messages go straight to the broker and a failpoint costs nothing.
        if settings.SAGA_FAILPOINTS_ENABLED:
            from . import failpoints, publishing

            publishing.install(failpoints.with_failpoints(publishing.celery_publisher))
