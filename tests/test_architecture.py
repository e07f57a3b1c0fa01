import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

from config.celery import app as celery_app

ROOT = Path(__file__).resolve().parent.parent


def test_import_contracts_hold():
    """Contexts meet only through saga commands and events, never by importing each other."""
    result = subprocess.run(
        [str(Path(sys.executable).parent / "lint-imports"), "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.django_db(databases=["default", "read"])
def test_models_and_migrations_agree():
    output = StringIO()

    call_command("makemigrations", "--check", "--dry-run", stdout=output)

    assert "No changes detected" in output.getvalue()


def test_celery_is_configured_for_at_least_once_delivery():
    conf = celery_app.conf

    assert conf.task_serializer == "json"
    assert conf.accept_content == ["json"]
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1
    assert conf.broker_connection_retry_on_startup is True


@pytest.mark.parametrize(
    "context", ["orders", "inventory", "payments", "shipping", "sagas", "readmodels", "ops"]
)
def test_tasks_are_routed_to_their_contexts_queue(context):
    route = celery_app.amqp.router.route({}, f"{context}.some_command")

    assert route["queue"].name == context
    assert route["queue"].routing_key == context


def test_a_plain_worker_consumes_every_queue():
    assert set(celery_app.amqp.queues) == {
        "orders",
        "inventory",
        "payments",
        "shipping",
        "sagas",
        "readmodels",
        "ops",
    }


def test_every_step_names_a_participant_that_carries_out_its_command():
    from sagas.definition import definition_for, registered_types

    celery_app.loader.import_default_modules()
    for saga_type in registered_types():
        for step in definition_for(saga_type).steps:
            for builder in (step.command, step.compensation):
                if builder is None:
                    continue
                command_class = builder.__self__
                task = celery_app.tasks.get(command_class.TASK)
                assert task is not None, f"{saga_type}.{step.name}: no participant for {command_class.TASK}"
                assert task.command_class is command_class, (
                    f"{command_class.TASK} carries out another command"
                )


def test_beat_sends_a_heartbeat_to_every_queue():
    """So that every worker of a fleet per context, whatever queues it consumes, shows as alive."""
    heartbeats = [
        entry["options"]["queue"]
        for entry in celery_app.conf.beat_schedule.values()
        if entry["task"] == "ops.heartbeat"
    ]
    assert sorted(heartbeats) == sorted(settings.TASK_QUEUES)
    for queue in heartbeats:
        route = celery_app.amqp.router.route({"queue": queue}, "ops.heartbeat")
        assert route["queue"].name == queue, "the entry's queue wins over the ops.* route"
