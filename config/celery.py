"""The Celery application: `celery -A config worker` serves every queue, `celery -A config beat`
schedules the periodic jobs. Configuration lives in Django settings under the CELERY_ prefix."""

import os

from celery import Celery
from celery.signals import task_postrun, task_prerun

from . import worker_steps
from .broker import register as register_embedded_broker

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
register_embedded_broker()

app = Celery("config")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
worker_steps.install(app)


@task_prerun.connect
@task_postrun.connect
def close_old_database_connections(sender=None, **kwargs) -> None:
    """What Django does around every request: drop connections that are broken or older than
    CONN_MAX_AGE, keep the rest for the next task (see CELERY_DB_REUSE_MAX in settings). An
    eager task runs inside its caller's transaction, which must keep its connection."""
    from django.db import close_old_connections

    if not getattr(sender.request, "is_eager", False):
        close_old_connections()
