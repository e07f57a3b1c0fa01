import shutil
import tempfile
import uuid
from pathlib import Path

import pytest

from ..conftest import skip_or_fail
from .servers import PrivatePostgres, PrivateRedis, available
from .system import STAFF, System

TEMPLATE = "orders_template"


@pytest.fixture(scope="session")
def servers():
    """A private PostgreSQL cluster and Redis server for the whole fault suite, with template
    databases migrated once so that each test copies them in a moment."""
    reason = available()
    if reason:
        skip_or_fail(f"the fault suite needs its own servers: {reason}")
    # Not pytest's tmp_path: it is private to root, and PostgreSQL runs as its own user.
    root = Path(tempfile.mkdtemp(prefix="orders-faults-"))
    root.chmod(0o755)
    postgres, redis = PrivatePostgres(root), PrivateRedis(root)
    postgres.init()
    postgres.start()
    redis.start()
    for name in (TEMPLATE, f"{TEMPLATE}_read"):
        postgres.sql(f"CREATE DATABASE {name}")
    template = System(root, postgres, redis, TEMPLATE, static_root=root / "static")
    template.manage("migrate", "--noinput")
    template.manage("collectstatic", "--noinput")
    # createsuperuser --noinput reads these, as API.md documents.
    superuser = {
        "DJANGO_SUPERUSER_USERNAME": STAFF[0],
        "DJANGO_SUPERUSER_PASSWORD": STAFF[1],
        "DJANGO_SUPERUSER_EMAIL": "operator@example.com",
    }
    result = template.manage("createsuperuser", "--noinput", check=False, extra_env=superuser)
    assert result.returncode == 0, result.stderr
    yield postgres, redis, root / "static"
    redis.stop()
    postgres.stop("immediate")
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def system(servers, tmp_path, monkeypatch):
    postgres, redis, static_root = servers
    database = f"orders_{uuid.uuid4().hex[:8]}"
    for suffix in ("", "_read"):
        postgres.sql(f"CREATE DATABASE {database}{suffix} TEMPLATE {TEMPLATE}{suffix}")
    redis.flush()
    running = System(tmp_path, postgres, redis, database, static_root=static_root)
    running.start()
    running.prepare()
    yield running
    running.stop()
    if redis.process is None:
        redis.start()


FIGURES: list[str] = []


def record_figures(name: str, **figures) -> None:
    """Keep a scenario's figures for the end of the run (docs/RELIABILITY.md quotes them)."""
    FIGURES.append(f"{name}: " + ", ".join(f"{key}={value}" for key, value in figures.items()))


def pytest_terminal_summary(terminalreporter):
    if FIGURES:
        terminalreporter.section("fault suite figures")
        for line in FIGURES:
            terminalreporter.write_line(line)
