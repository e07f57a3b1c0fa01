"""The Celery application: `celery -A config worker` serves every queue, `celery -A config beat`
schedules the periodic jobs. Configuration lives in Django settings under the CELERY_ prefix."""

import os

from celery import Celery

from .broker import register as register_embedded_broker

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
register_embedded_broker()

app = Celery("config")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
