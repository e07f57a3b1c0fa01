"""Settings, read from the environment (see README: Configuration).

With no variable set the project runs embedded: two SQLite files and a filesystem
broker under ``var/``, so ``make run`` needs no server. Setting ``DATABASE_URL``,
``READ_DATABASE_URL`` and ``CELERY_BROKER_URL`` points it at PostgreSQL and Redis.
"""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from kombu import Exchange, Queue

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("APP_VAR_DIR", BASE_DIR / "var"))
# The SQLite files, the embedded broker's folders and beat's schedule live here, whichever
# database and broker are configured.
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEVELOPMENT_SECRET_KEY = "django-insecure-development-key-do-not-use-in-production"


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {raw!r}")


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


EMBEDDED = not os.environ.get("DATABASE_URL")

DEBUG = env_bool("DJANGO_DEBUG", default=EMBEDDED)
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY") or DEVELOPMENT_SECRET_KEY
if not DEBUG and SECRET_KEY == DEVELOPMENT_SECRET_KEY:
    raise ImproperlyConfigured(
        "DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is false: "
        "the development key is public and would let anyone forge sessions."
    )
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1")

INSTALLED_APPS = [
    # ops first: its `migrate` replaces Django's so one command migrates both databases.
    "ops",
    # Django's admin with a throttled login form (config.admin.OperationsAdminSite).
    "config.apps.OperationsAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "eventlog",
    "sagas",
    "inventory",
    "payments",
    "orders",
    "shipping",
    "readmodels",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "eventlog.middleware.EventPositionMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "config" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
            "libraries": {"admin_lists": "config.admin_lists"},
        },
    },
]

# --- Databases --------------------------------------------------------------------------------

SQLITE_OPTIONS = {
    # WAL lets the web process read while a worker writes; IMMEDIATE takes the write lock at
    # BEGIN, so two writers queue on the busy timeout instead of failing with "database is locked"
    # when one of them upgrades a read transaction.
    "timeout": 20,
    "transaction_mode": "IMMEDIATE",
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
}


def database_from_env(variable: str, sqlite_name: str) -> dict:
    url = os.environ.get(variable)
    if url:
        return dj_database_url.parse(url, conn_max_age=60, conn_health_checks=True)
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": VAR_DIR / f"{sqlite_name}.sqlite3",
        "OPTIONS": SQLITE_OPTIONS,
        # A file, not Django's in-memory default, so a real worker process can share the test DB.
        "TEST": {"NAME": VAR_DIR / f"test-{sqlite_name}.sqlite3"},
    }


DATABASES = {
    "default": database_from_env("DATABASE_URL", "write"),
    "read": database_from_env("READ_DATABASE_URL", "read"),
}
if DATABASES["read"]["ENGINE"] == "django.db.backends.postgresql":
    # Read models are derived from the log: a crash may lose their last few hundred milliseconds
    # of commits, rows and checkpoint together, and projection applies those events again. So
    # their commits need not wait for the disk (the write side's always do); docs/DECISIONS.md.
    DATABASES["read"].setdefault("OPTIONS", {})["options"] = "-c synchronous_commit=off"
DATABASE_ROUTERS = ["config.routers.ReadModelRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Auth, i18n, static -------------------------------------------------------------------------

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# Project-wide assets that belong to no app (the API docs' logo).
STATICFILES_DIRS = [BASE_DIR / "config" / "static"]
# With DJANGO_DEBUG false, `collectstatic` must have filled this (make run and the image do).
STATIC_ROOT = Path(os.environ.get("DJANGO_STATIC_ROOT", VAR_DIR / "static"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
# Serve files found by the finders when collectstatic has not run (tests, first start).
WHITENOISE_USE_FINDERS = True

# --- HTTPS and cookies ----------------------------------------------------------------------------

HTTPS = env_bool("DJANGO_HTTPS", default=not DEBUG)
SECURE_SSL_REDIRECT = HTTPS
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = 60 * 60 * 24 * 365 if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
# Behind a TLS-terminating proxy (docker-compose, any PaaS) the scheme arrives in this header.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", "")

# Bounded request bodies: a huge upload is refused with 400 before any parsing happens.
DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024

# --- REST framework and OpenAPI ---------------------------------------------------------------------

REST_FRAMEWORK = {
    # Token first, so an unauthenticated request gets 401 with a WWW-Authenticate header.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["config.parsers.BoundedJSONParser"],
    "DEFAULT_PAGINATION_CLASS": "config.pagination.PageNumberPagination",
    "PAGE_SIZE": 20,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "config.schema.AutoSchema",
    "DEFAULT_THROTTLE_RATES": {"auth": os.environ.get("AUTH_THROTTLE_RATE", "60/minute")},
    # Throttles identify a client by the connection's address; X-Forwarded-For counts only when
    # this many proxies of ours stand in front and append to it. A client-supplied header is not
    # an identity: trusting it by default would hand out a fresh budget per forged address.
    "NUM_PROXIES": int(os.environ.get("DJANGO_NUM_PROXIES", 0)),
    "EXCEPTION_HANDLER": "config.exceptions.exception_handler",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Orders: SAGA + CQRS reference API",
    "DESCRIPTION": (
        "Commands start Celery-orchestrated sagas; queries read projected read models. "
        "Authenticate with `Authorization: Token <token>` from `POST /api/auth/token/`."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Several models have a "status" or "state" field; name each enum after what it describes.
    "ENUM_NAME_OVERRIDES": {
        "OrderStatusEnum": "orders.models.Order.Status",
        "SagaStateEnum": "sagas.models.Saga.State",
        "SagaStepStatusEnum": "sagas.models.SagaStep.Status",
        "SagaDirectionEnum": "sagas.models.Direction",
    },
}

# --- Celery ---------------------------------------------------------------------------------------


def filesystem_broker_options(folder: Path) -> dict:
    """kombu's filesystem transport: messages are files in ``folder``, no server needed."""
    for name in ("queue", "processed", "control"):
        (folder / name).mkdir(parents=True, exist_ok=True)
    return {
        "data_folder_in": str(folder / "queue"),
        "data_folder_out": str(folder / "queue"),
        "processed_folder": str(folder / "processed"),
        # Remote-control broadcasts; kombu's default is a "control" folder in the working directory.
        "control_folder": str(folder / "control"),
        "store_processed": False,
        # The transport polls its folder; kombu's default second would add up to a second per step.
        "polling_interval": 0.1,
    }


CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL") or "filesystem://"
if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_TRANSPORT_OPTIONS = filesystem_broker_options(VAR_DIR / "broker")
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # With late acknowledgement Redis re-delivers an unacknowledged message after this long;
        # it bounds how long a message held by a killed worker waits.
        "visibility_timeout": int(os.environ.get("CELERY_VISIBILITY_TIMEOUT", 3600)),
    }

CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Sagas report through their own tables and reply tasks; nothing reads Celery results.
CELERY_TASK_IGNORE_RESULT = True
# The embedded broker's worker keeps its timers on a thread that sleeps this long between checks,
# and a warm shutdown waits for that thread; brokers with an event loop ignore it.
CELERY_WORKER_TIMER_PRECISION = 0.1
CELERY_TASK_TIME_LIMIT = 60
# Celery's Django fixup closes every database connection before and after every task unless this
# is set (celery#9824 took out its CONN_MAX_AGE support): a new PostgreSQL connection per saga
# step cost more than the step. With it set, the fixup only recycles connections every 1000
# tasks, and config/celery.py gives tasks Django's own request lifecycle instead:
# close_old_connections() honours CONN_MAX_AGE and CONN_HEALTH_CHECKS.
CELERY_DB_REUSE_MAX = 1000
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")

# One queue per context so each can be scaled alone; a worker started without -Q consumes all.
TASK_QUEUES = ("orders", "inventory", "payments", "shipping", "sagas", "readmodels", "ops")
CELERY_TASK_QUEUES = [Queue(name, Exchange(name), routing_key=name) for name in TASK_QUEUES]
CELERY_TASK_DEFAULT_QUEUE = "ops"
CELERY_TASK_ROUTES = {f"{name}.*": {"queue": name} for name in TASK_QUEUES}

HEARTBEAT_INTERVAL_SECONDS = float(os.environ.get("HEARTBEAT_INTERVAL_SECONDS", 15))
# One heartbeat per queue: a worker fleet per context (docker-compose.yml) has no queue that
# every worker consumes, and each context's workers must show as alive in /healthz.
CELERY_BEAT_SCHEDULE = {
    f"worker-heartbeat-{queue}": {
        "task": "ops.heartbeat",
        "schedule": HEARTBEAT_INTERVAL_SECONDS,
        "options": {"queue": queue},
    }
    for queue in TASK_QUEUES
}

# --- Domain settings -----------------------------------------------------------------------------

SHIPPING_COUNTRIES = env_list("SHIPPING_COUNTRIES", "US,CA,GB,DE,FR,NL,BE,ES,IT,SE")

# One handler and one format for every process (web, worker, beat): JSON lines by default, each
# carrying the saga, order and step it is about (config.logcontext); LOG_FORMAT=text for people.
LOG_FORMAT = os.environ.get("LOG_FORMAT", "json")
if LOG_FORMAT not in {"json", "text"}:
    raise ImproperlyConfigured(f"LOG_FORMAT must be json or text, not {LOG_FORMAT!r}")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "config.logcontext.LogContextFilter"}},
    "formatters": {
        "json": {"()": "observability.logformat.JsonLineFormatter"},
        "text": {"()": "observability.logformat.TextLineFormatter"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["context"]},
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    # Django's defaults give these loggers handlers of their own, in another format.
    "loggers": {
        "django": {"handlers": [], "propagate": True},
        "django.server": {"handlers": [], "propagate": True},
    },
}

# --- Sagas ---------------------------------------------------------------------------------------

# How long one attempt of a step may take before the sweeper counts it as lost and re-sends it.
SAGA_STEP_DEADLINE_SECONDS = float(os.environ.get("SAGA_STEP_DEADLINE_SECONDS", 30))
SAGA_SWEEP_INTERVAL_SECONDS = float(os.environ.get("SAGA_SWEEP_INTERVAL_SECONDS", 5))
# Sends of one step before it counts as failed (then compensated), and of one compensation before
# the saga stops FAILED; retries wait an exponentially growing, jittered delay from this base.
SAGA_STEP_MAX_ATTEMPTS = int(os.environ.get("SAGA_STEP_MAX_ATTEMPTS", 5))
SAGA_COMPENSATION_MAX_ATTEMPTS = int(os.environ.get("SAGA_COMPENSATION_MAX_ATTEMPTS", 8))
SAGA_RETRY_BASE_DELAY_SECONDS = float(os.environ.get("SAGA_RETRY_BASE_DELAY_SECONDS", 0.2))
# Contexts whose participants answer over the broker, as a context with a database of its own
# must; every other context records a step's outcome in its own transaction (docs/SAGAS.md).
SAGA_REMOTE_CONTEXTS = frozenset(
    name.strip() for name in os.environ.get("SAGA_REMOTE_CONTEXTS", "").split(",") if name.strip()
)
# Failpoints (sagas.Failpoint) let operators and tests inject faults; off, they cost nothing.
SAGA_FAILPOINTS_ENABLED = env_bool("SAGA_FAILPOINTS_ENABLED", default=False)
CELERY_BEAT_SCHEDULE["saga-sweeper"] = {
    "task": "sagas.sweep_overdue",
    "schedule": SAGA_SWEEP_INTERVAL_SECONDS,
}

# Where orders finds the catalogue and the customers (see orders/ports.py).
ORDERS_CATALOG = "inventory.catalog"
ORDERS_CUSTOMERS = "payments.directory"
IDEMPOTENCY_KEY_TTL_HOURS = 48
CELERY_BEAT_SCHEDULE["purge-idempotency-records"] = {
    "task": "orders.purge_idempotency_records",
    "schedule": 3600,
}

# --- Read side -----------------------------------------------------------------------------------

READMODELS_CATCH_UP_SECONDS = float(os.environ.get("READMODELS_CATCH_UP_SECONDS", 2))
# How long a projection run goes on watching the log after the last commit it applied: while
# commits come faster than this, one run serves them all and none of them sends a wake-up.
READMODELS_RUNNER_LINGER_SECONDS = float(os.environ.get("READMODELS_RUNNER_LINGER_SECONDS", 0.5))
# How long a query with X-Min-Event-Position waits for the read models before answering 503.
READMODELS_CONSISTENCY_WAIT_SECONDS = float(os.environ.get("READMODELS_CONSISTENCY_WAIT_SECONDS", 5))
# How many such requests one web process lets wait at once; the others answer 503 at once, so
# waiting never takes every thread (gunicorn.conf.py runs more threads than this).
READMODELS_CONSISTENCY_MAX_WAITING = 2
CELERY_BEAT_SCHEDULE["readmodels-catch-up"] = {
    "task": "readmodels.catch_up",
    "schedule": READMODELS_CATCH_UP_SECONDS,
}

# --- Observability ---------------------------------------------------------------------------------

INSTALLED_APPS += ["observability", "dashboard"]
# Right after WhiteNoise: every request the application answers is timed, static files are not.
MIDDLEWARE.insert(
    MIDDLEWARE.index("whitenoise.middleware.WhiteNoiseMiddleware") + 1,
    "observability.middleware.RequestObservabilityMiddleware",
)
# Prometheus scrapes over the internal network, where there is no TLS to redirect to.
SECURE_REDIRECT_EXEMPT += [r"^metrics$"]
# When set, GET /metrics wants "Authorization: Bearer <METRICS_TOKEN>".
METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")
# How often the admin dashboard refreshes its charts.
DASHBOARD_REFRESH_SECONDS = float(os.environ.get("DASHBOARD_REFRESH_SECONDS", 5))
