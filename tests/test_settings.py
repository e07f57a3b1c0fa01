"""Settings come from the environment; each case runs in a fresh interpreter so nothing leaks."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connections, router

from inventory.models import Product
from readmodels.models import ProductAvailability

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION_ENV = {
    "DJANGO_DEBUG": "false",
    "DJANGO_SECRET_KEY": "Zq8vV2nq5b7yM3wP0kR4tH6jL1xC9dF2gS5aE7uI3oB8nM0vQ1zT4yW6",
    "DJANGO_ALLOWED_HOSTS": "shop.example.com",
}


def settings_in_subprocess(env: dict, expression: str) -> subprocess.CompletedProcess:
    clean = {
        key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "DATABASE_URL"))
    }
    clean.pop("READ_DATABASE_URL", None)
    clean.pop("CELERY_BROKER_URL", None)
    code = f"import json, django; django.setup(); from django.conf import settings; print(json.dumps({expression}))"
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={
            **clean,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "APP_VAR_DIR": "/tmp/settings-test-var",
            **env,
        },
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_embedded_default_needs_no_server():
    result = settings_in_subprocess(
        {},
        "[settings.DEBUG, settings.DATABASES['default']['ENGINE'], str(settings.DATABASES['read']['NAME']),"
        " settings.CELERY_BROKER_URL, settings.ALLOWED_HOSTS, settings.SECURE_SSL_REDIRECT]",
    )

    assert result.returncode == 0, result.stderr
    debug, engine, read_name, broker, hosts, ssl_redirect = json.loads(result.stdout)
    assert debug is True
    assert engine == "django.db.backends.sqlite3"
    assert read_name == "/tmp/settings-test-var/read.sqlite3"
    assert broker == "filesystem://"
    assert hosts == ["localhost", "127.0.0.1"]
    assert ssl_redirect is False


def test_urls_point_at_postgresql_and_redis():
    result = settings_in_subprocess(
        {
            **PRODUCTION_ENV,
            "DATABASE_URL": "postgres://app:pw@db.internal:5432/orders",
            "READ_DATABASE_URL": "postgres://app:pw@replica.internal:5432/orders_read",
            "CELERY_BROKER_URL": "redis://cache.internal:6379/0",
        },
        "[settings.DATABASES['default']['HOST'], settings.DATABASES['read']['NAME'],"
        " settings.DATABASES['read']['ENGINE'], settings.CELERY_BROKER_URL, settings.DEBUG]",
    )

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [
        "db.internal",
        "orders_read",
        "django.db.backends.postgresql",
        "redis://cache.internal:6379/0",
        False,
    ]


def test_the_secret_key_is_the_one_in_the_environment():
    result = settings_in_subprocess(PRODUCTION_ENV, "settings.SECRET_KEY")

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == PRODUCTION_ENV["DJANGO_SECRET_KEY"]


def test_production_refuses_the_development_secret_key():
    result = settings_in_subprocess({"DJANGO_DEBUG": "false"}, "settings.DEBUG")

    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set" in result.stderr


def test_a_database_url_alone_turns_debug_off():
    result = settings_in_subprocess({"DATABASE_URL": "postgres://app@db/orders"}, "settings.DEBUG")

    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set" in result.stderr


def test_https_settings_follow_debug():
    result = settings_in_subprocess(
        PRODUCTION_ENV,
        "[settings.SECURE_SSL_REDIRECT, settings.SESSION_COOKIE_SECURE, settings.SECURE_HSTS_SECONDS > 0]",
    )

    assert json.loads(result.stdout) == [True, True, True]


def test_check_deploy_is_clean_in_production():
    clean = {key: value for key, value in os.environ.items() if not key.startswith("DJANGO_")}
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env={**clean, **PRODUCTION_ENV, "DJANGO_SETTINGS_MODULE": "config.settings"},
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_a_malformed_boolean_is_an_error_not_a_guess():
    result = settings_in_subprocess({"DJANGO_DEBUG": "maybe"}, "settings.DEBUG")

    assert result.returncode != 0
    assert "DJANGO_DEBUG must be true or false" in result.stderr


def test_embedded_sqlite_uses_wal_and_immediate_transactions():
    result = settings_in_subprocess(
        {},
        "[__import__('django.db').db.connections['default'].cursor().execute('PRAGMA journal_mode').fetchone()[0],"
        " settings.DATABASES['default']['OPTIONS']['transaction_mode'],"
        " settings.DATABASES['read']['OPTIONS']['timeout']]",
    )

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == ["wal", "IMMEDIATE", 20]


def test_router_keeps_read_models_in_their_own_database():
    assert router.db_for_write(ProductAvailability) == "read"
    assert router.db_for_read(ProductAvailability) == "read"
    assert router.db_for_write(Product) == "default"
    assert router.allow_migrate("read", "readmodels")
    assert not router.allow_migrate("default", "readmodels")
    assert not router.allow_migrate("read", "inventory")


@pytest.mark.django_db(databases=["default", "read"])
def test_migrate_created_each_apps_tables_in_its_own_database():
    write_tables = set(connections["default"].introspection.table_names())
    read_tables = set(connections["read"].introspection.table_names())

    assert {"inventory_product", "payments_customer", "orders_order", "eventlog_event"} <= write_tables
    assert {"readmodels_productavailability", "readmodels_projectorcheckpoint"} <= read_tables
    assert not any(table.startswith("readmodels_") for table in write_tables)
    assert not any(table.startswith(("inventory_", "orders_", "auth_")) for table in read_tables)
