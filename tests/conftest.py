import os

import pytest
from django.db import connections
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from payments.factories import CustomerFactory, StaffUserFactory

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def skip_or_fail(reason: str) -> None:
    """Outside CI a missing service skips the test; in CI it is a failure, never a silent skip."""
    if IN_CI:
        pytest.fail(f"CI=true but {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def _required_services(request):
    if request.node.get_closest_marker("postgres") and connections["default"].vendor != "postgresql":
        skip_or_fail("this test needs PostgreSQL: set DATABASE_URL=postgres://... (see README)")
    if request.node.get_closest_marker("failpoints"):
        from django.conf import settings

        if not settings.SAGA_FAILPOINTS_ENABLED:
            skip_or_fail("this test switches failpoints on: it needs SAGA_FAILPOINTS_ENABLED=true")


def pytest_sessionstart(session):
    """CI names the broker each run is for (``CI_BROKER``): a run that lost its broker URL
    would otherwise pass on the embedded one and prove nothing about the server it was for."""
    if not IN_CI:
        return
    from django.conf import settings

    expected = os.environ.get("CI_BROKER", "")
    actual = settings.CELERY_BROKER_URL.split("://", 1)[0]
    if actual != expected:
        raise pytest.UsageError(f"CI=true with CI_BROKER={expected!r}, but the broker in use is {actual!r}")


SAGA_PATHS = {"co-located": "", "remote": "orders,inventory,payments,shipping"}


@pytest.fixture(autouse=True)
def projection_in_this_process():
    """Commits made by the test itself are projected at once, in this process, as the runner
    would project them: a test of the read side reads what it wrote without a worker. Tests
    with real processes (``saga_processes``) wake the real runner instead."""
    from readmodels import runner, wiring

    previous = runner.install_waker(wiring.run)
    yield
    runner.install_waker(previous)


@pytest.fixture(autouse=True)
def _shared_processes_only_while_asked_for(request):
    """The shared worker and beat would go on consuming and catching up while a test that did not
    ask for them runs: they stop before it."""
    if "saga_processes" not in request.fixturenames:
        from .processes import SharedProcesses

        SharedProcesses.stop()


@pytest.fixture(scope="session")
def shared_processes(django_db_setup, django_db_blocker):
    """Stops the shared worker and beat before the test databases are dropped."""
    from .processes import SharedProcesses

    yield SharedProcesses
    SharedProcesses.stop()


@pytest.fixture
def saga_processes(request, shared_processes, tmp_path_factory):
    """A real Celery worker and beat on the test databases, shared by consecutive tests that ask
    for the same settings (``SharedProcesses``).

    The test must use ``django_db(transaction=True)`` so that what it writes is committed and
    visible to them. Messages a previous test left in the broker are purged first. Participants
    record outcomes co-located unless the test asks for the other path with
    ``@pytest.mark.parametrize("saga_processes", ["remote"], indirect=True)``.
    """
    from config.celery import app as celery_app
    from readmodels import runner

    from .processes import SHARED_WORKER, child_env, start_beat, start_worker

    celery_app.control.purge()
    runner.install_waker(runner.send_request)
    clock = {}
    deadline = request.node.get_closest_marker("step_deadline")
    if deadline is not None:
        # For the steps this process sends (the first of each saga) and those the worker sends.
        request.getfixturevalue("settings").SAGA_STEP_DEADLINE_SECONDS = deadline.args[0]
        clock["SAGA_STEP_DEADLINE_SECONDS"] = str(deadline.args[0])
    extra = {"SAGA_REMOTE_CONTEXTS": SAGA_PATHS[getattr(request, "param", "co-located")], **clock}
    env = child_env(**extra)

    def start():
        return (
            start_worker(env, name=SHARED_WORKER, concurrency=4, shared=True),
            start_beat(env, tmp_path_factory.mktemp("beat"), shared=True),
        )

    yield shared_processes.get(sorted(extra.items()), start)
    shared_processes.quiesce()


def pytest_collection_modifyitems(items):
    """Within a module, tests that need the shared processes with other settings run after the
    rest, so the shared worker restarts once per module rather than at every switch."""

    def settings_rank(item) -> tuple:
        path = getattr(getattr(item, "callspec", None), "params", {}).get("saga_processes", "co-located")
        deadline = item.get_closest_marker("step_deadline")
        return (path != "co-located", path, deadline.args[0] if deadline else 0)

    modules = {}
    for item in items:
        modules.setdefault(item.module, len(modules))
    items.sort(key=lambda item: (modules[item.module], settings_rank(item)))


def token_client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client


@pytest.fixture
def anonymous_client() -> APIClient:
    return APIClient()


@pytest.fixture
def staff_user(db):
    return StaffUserFactory()


@pytest.fixture
def staff_client(staff_user) -> APIClient:
    return token_client(staff_user)


@pytest.fixture
def customer(db):
    return CustomerFactory()


@pytest.fixture
def customer_client(customer) -> APIClient:
    return token_client(customer.user)


def pytest_sessionfinish(session, exitstatus):
    """Under CI a skipped test is a failure: the suite must prove everything, not most of it."""
    if not IN_CI or exitstatus != 0:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if skipped:
        reporter.write_line(f"CI=true: {len(skipped)} test(s) skipped; failing the run.", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
