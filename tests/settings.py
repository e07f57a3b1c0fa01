"""The application's settings as the test suite runs them: plain HTTP, fast password hashing.

Processes the suite starts (worker, web) import this module too; ``TEST_DATABASE_NAMES`` then
points them at the databases the test run created.
"""

import json
import os

os.environ.setdefault("DJANGO_HTTPS", "false")
os.environ.setdefault("DJANGO_SECRET_KEY", "test-suite-secret-key-not-used-anywhere-else-0123456789")
# Sagas on a test clock: lost steps are noticed in seconds, retries wait milliseconds, and
# failpoints can be switched on. Worker and beat processes inherit these through the environment.
os.environ.setdefault("SAGA_FAILPOINTS_ENABLED", "true")
os.environ.setdefault("SAGA_STEP_DEADLINE_SECONDS", "5")
os.environ.setdefault("SAGA_SWEEP_INTERVAL_SECONDS", "0.5")
os.environ.setdefault("SAGA_STEP_MAX_ATTEMPTS", "4")
os.environ.setdefault("SAGA_COMPENSATION_MAX_ATTEMPTS", "3")
os.environ.setdefault("SAGA_RETRY_BASE_DELAY_SECONDS", "0.05")

from config.settings import *  # noqa: F403
from config.settings import CELERY_BROKER_URL, DATABASES, STORAGES, VAR_DIR, filesystem_broker_options

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}

for alias, name in json.loads(os.environ.get("TEST_DATABASE_NAMES", "{}")).items():
    DATABASES[alias]["NAME"] = name

# Static files come from the finders in tests; there is no collected STATIC_ROOT to look at.
STATIC_ROOT = None

# The suite's own broker folders, so a test run never consumes a `make run` session's messages.
if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_TRANSPORT_OPTIONS = filesystem_broker_options(VAR_DIR / "test-broker")
