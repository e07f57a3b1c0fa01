"""docker-compose.yml cannot be run here (no Docker engine), so its shape is checked against the
settings it must feed: every service, command, health check and variable."""

from pathlib import Path

import dj_database_url
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTED_VARIABLES = {
    "DATABASE_URL",
    "READ_DATABASE_URL",
    "CELERY_BROKER_URL",
    "DJANGO_SECRET_KEY",
    "DJANGO_DEBUG",
    "DJANGO_ALLOWED_HOSTS",
    "DJANGO_HTTPS",
}
FLEET = ("worker-orders", "worker-inventory", "worker-payments", "worker-shipping", "projector")
APP_SERVICES = ("migrate", "web", *FLEET, "beat", "flower")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def command_of(service: dict) -> str:
    command = service["command"]
    return " ".join(command) if isinstance(command, list) else command


def test_every_process_of_the_system_is_a_service(compose):
    assert {"postgres", "redis", "web", *FLEET, "beat", "migrate", "flower"} <= set(compose["services"])
    assert command_of(compose["services"]["flower"]).startswith("celery -A config flower")
    assert command_of(compose["services"]["web"]).startswith("gunicorn config.wsgi")
    for name in FLEET:
        assert command_of(compose["services"][name]).startswith("celery -A config worker"), name
    projector = command_of(compose["services"]["projector"])
    assert projector.startswith("celery -A config worker")
    assert "--pool=solo --queues=readmodels" in projector, "one process, the runner's queue only"
    assert command_of(compose["services"]["beat"]).startswith("celery -A config beat")
    assert command_of(compose["services"]["migrate"]) == "python manage.py migrate --noinput"


def test_long_running_services_have_health_checks(compose):
    for name in ("postgres", "redis", "web", *FLEET, "beat", "flower"):
        assert compose["services"][name]["healthcheck"]["test"], name
    assert "/healthz" in " ".join(compose["services"]["web"]["healthcheck"]["test"])


def test_data_lives_in_named_volumes(compose):
    declared = set(compose["volumes"])
    for name in ("postgres", "redis"):
        mounts = compose["services"][name]["volumes"]
        named = {mount.split(":")[0] for mount in mounts if not mount.startswith(".")}
        assert named, name
        assert named <= declared, name


def test_app_services_get_the_documented_environment(compose):
    for name in APP_SERVICES:
        environment = compose["services"][name]["environment"]
        extra = {"PROMETHEUS_MULTIPROC_DIR"} if name == "web" else set()
        assert set(environment) == DOCUMENTED_VARIABLES | extra, name
        assert environment["DJANGO_DEBUG"] == "false"
        assert environment["DJANGO_SECRET_KEY"].startswith("${DJANGO_SECRET_KEY:?"), "no secret in the repo"


def test_urls_point_at_the_services_of_the_file(compose):
    environment = compose["services"]["web"]["environment"]
    write = dj_database_url.parse(environment["DATABASE_URL"])
    read = dj_database_url.parse(environment["READ_DATABASE_URL"])

    assert write["ENGINE"] == read["ENGINE"] == "django.db.backends.postgresql"
    assert write["HOST"] == read["HOST"] == "postgres"
    assert write["NAME"] != read["NAME"]
    assert environment["CELERY_BROKER_URL"].startswith("redis://redis:")
    init_sql = (ROOT / "deploy/postgres/create-read-database.sql").read_text()
    assert f"CREATE DATABASE {read['NAME']}" in init_sql
    assert write["NAME"] == compose["services"]["postgres"]["environment"]["POSTGRES_DB"]


def test_app_waits_for_healthy_dependencies_and_migrations(compose):
    for name in ("web", *FLEET, "beat", "flower"):
        depends = compose["services"][name]["depends_on"]
        assert depends["postgres"]["condition"] == "service_healthy"
        assert depends["redis"]["condition"] == "service_healthy"
        assert depends["migrate"]["condition"] == "service_completed_successfully"


def test_dockerfile_installs_the_pinned_requirements_and_serves_with_gunicorn():
    dockerfile = (ROOT / "Dockerfile").read_text()

    assert "FROM python:3.11" in dockerfile
    assert "pip install -r requirements.txt" in dockerfile
    assert "collectstatic" in dockerfile
    assert '"gunicorn", "config.wsgi"' in dockerfile
    assert "USER app" in dockerfile


def test_gunicorn_workers_share_metrics_through_a_fresh_directory(compose):
    """prometheus-client's multiprocess files must not outlive the workers that wrote them."""
    web = compose["services"]["web"]

    assert web["environment"]["PROMETHEUS_MULTIPROC_DIR"] in web["tmpfs"]
    for name in FLEET:
        assert "PROMETHEUS_MULTIPROC_DIR" not in compose["services"][name]["environment"], name


def test_flower_is_reachable_from_this_machine_only(compose):
    assert compose["services"]["flower"]["ports"] == ["127.0.0.1:5555:5555"]
    assert "/healthcheck" in " ".join(compose["services"]["flower"]["healthcheck"]["test"])


def test_each_worker_of_the_fleet_is_pinged_by_the_name_it_runs_under(compose):
    """A scaled service's replicas each have a container hostname of their own (``%h``)."""
    for name in FLEET:
        command = command_of(compose["services"][name])
        hostname = command.split("--hostname=", 1)[1].split()[0]
        assert hostname.endswith("@%h"), name
        destination = hostname.replace("%h", "$$HOSTNAME")
        assert f"--destination {destination}" in " ".join(compose["services"][name]["healthcheck"]["test"]), (
            name
        )
