"""The worker fleet of docker-compose.yml, run for real: one worker per context, started with the
queues and pool its compose service names, runs every saga to its end; and while one context
has no worker at all, its sagas wait on that step and finish once a worker comes back."""

import re
from decimal import Decimal

import pytest
import yaml
from django.test import Client

from inventory.models import Product
from inventory.services import product_create
from ops.models import WorkerHeartbeat
from orders.models import Order
from payments.factories import StaffUserFactory
from payments.models import Charge, Customer
from payments.services import customer_register
from sagas.models import Direction, Saga, SagaStep

from .conftest import SAGA_PATHS, token_client
from .processes import (
    ROOT,
    ManagedProcess,
    child_env,
    start_beat,
    start_worker,
    stop_together,
    wait_for,
    wait_until_ready,
)
from .sagas import assert_invariants, order_body, wait_for_saga, wait_until_settled

pytestmark = [pytest.mark.system, pytest.mark.django_db(transaction=True, databases=["default", "read"])]


def fleet_services() -> dict[str, dict[str, str]]:
    """Each worker service of docker-compose.yml: its ``--queues``, ``--pool`` and the name
    before ``@%h`` in its ``--hostname``."""
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    fleet = {}
    for service, spec in compose["services"].items():
        command = spec.get("command") or []
        if command[:4] != ["celery", "-A", "config", "worker"]:
            continue
        options = dict(re.fullmatch(r"--([a-z-]+)=(.*)", arg).groups() for arg in command[4:] if "=" in arg)
        fleet[service] = {
            "queues": options["queues"],
            "pool": options.get("pool", "prefork"),
            "name": options["hostname"].removesuffix("@%h"),
        }
    return fleet


FLEET = fleet_services()


def start_fleet(env: dict[str, str], *, without: tuple[str, ...] = ()) -> dict[str, ManagedProcess]:
    workers = {
        service: start_worker(
            env,
            name=spec["name"],
            concurrency=1,
            pool=spec["pool"],
            queues=tuple(spec["queues"].split(",")),
        )
        for service, spec in FLEET.items()
        if service not in without
    }
    for worker in workers.values():
        wait_until_ready(worker)
    return workers


@pytest.fixture
def shop():
    product_create(sku="KB", name="Keyboard", price=Decimal("50.00"), stock=10)


@pytest.fixture
def alice():
    return customer_register(
        username="alice",
        password="pw-alice-123",
        email="a@example.com",
        name="Alice",
        credit_limit=Decimal("500.00"),
    )


def place(client, items, **options) -> dict:
    response = client.post("/api/orders/", order_body(items, **options), format="json")
    assert response.status_code == 202, response.content
    return response.json()


def tasks_run_by(worker: ManagedProcess) -> set[str]:
    return set(re.findall(r"Task ([a-z_]+\.[a-z_]+)\[[0-9a-f-]+\] received", worker.output()))


def test_the_fleet_serves_every_queue_once():
    from django.conf import settings

    served = [queue for spec in FLEET.values() for queue in spec["queues"].split(",")]
    assert sorted(served) == sorted(settings.TASK_QUEUES)
    assert len({spec["name"] for spec in FLEET.values()}) == len(FLEET), "one worker name per service"


@pytest.mark.parametrize("path", ["co-located", "remote"])
def test_one_worker_per_context_runs_every_saga_to_its_end(path, shop, alice):
    from config.celery import app as celery_app
    from readmodels import runner

    celery_app.control.purge()
    runner.install_waker(runner.send_request)
    fleet = start_fleet(child_env(SAGA_REMOTE_CONTEXTS=SAGA_PATHS[path]))
    try:
        client = token_client(alice.user)
        confirmed = [place(client, [("KB", 1)]) for _ in range(3)]
        undeliverable = place(client, [("KB", 2)], country="XX")
        for body in confirmed:
            assert wait_for_saga(body["saga_id"], processes=tuple(fleet.values())).state == "COMPLETED"
        saga = wait_for_saga(undeliverable["saga_id"], processes=tuple(fleet.values()))
        assert saga.state == Saga.State.COMPENSATED
        assert_invariants()
    finally:
        stop_together(list(fleet.values()))

    assert Product.objects.get(sku="KB").reserved == 3
    assert Customer.objects.get(pk=alice.pk).credit_available == Decimal("350.00")
    # Each worker ran its own context's commands, compensations included, and nothing else.
    assert tasks_run_by(fleet["worker-inventory"]) == {"inventory.reserve_stock", "inventory.release_stock"}
    assert tasks_run_by(fleet["worker-payments"]) == {"payments.charge_payment", "payments.refund_payment"}
    assert tasks_run_by(fleet["worker-shipping"]) == {"shipping.schedule_shipment"}
    orchestration = {"orders.confirm_order", "orders.reject_order"}
    if path == "remote":
        orchestration.add("sagas.record_reply")
    assert orchestration <= tasks_run_by(fleet["worker-orders"])
    assert "readmodels.project" in tasks_run_by(fleet["projector"])


# Long enough for a worker to start on a busy machine; the sweeper re-sends a step that gets no
# answer within it, and gives up after SAGA_STEP_MAX_ATTEMPTS of them.
OUTAGE_DEADLINE_SECONDS = 3
OUTAGE_MAX_ATTEMPTS = 10


def test_sagas_wait_while_a_context_has_no_worker_and_finish_when_one_returns(
    shop, alice, settings, tmp_path
):
    from config.celery import app as celery_app
    from readmodels import runner

    celery_app.control.purge()
    runner.install_waker(runner.send_request)
    # The first step is sent from here, the others by the workers and the sweeper.
    settings.SAGA_STEP_DEADLINE_SECONDS = OUTAGE_DEADLINE_SECONDS
    env = child_env(
        SAGA_STEP_DEADLINE_SECONDS=str(OUTAGE_DEADLINE_SECONDS),
        SAGA_STEP_MAX_ATTEMPTS=str(OUTAGE_MAX_ATTEMPTS),
        HEARTBEAT_INTERVAL_SECONDS="1",
    )
    fleet = start_fleet(env, without=("worker-payments",))
    beat = start_beat(env, tmp_path)
    processes = [*fleet.values(), beat]
    try:
        client = token_client(alice.user)
        sagas = [place(client, [("KB", 1)])["saga_id"] for _ in range(3)]

        def charges_sent_again() -> bool:
            steps = SagaStep.objects.filter(
                saga_id__in=sagas, name="charge_payment", direction=Direction.FORWARD
            )
            return steps.count() == len(sagas) and all(step.attempts >= 2 for step in steps)

        wait_for(
            charges_sent_again,
            timeout=OUTAGE_DEADLINE_SECONDS * 4,
            what="the sweeper to send every unanswered charge again",
            processes=tuple(processes),
        )
        waiting = Saga.objects.filter(pk__in=sagas)
        assert {(saga.state, saga.current_step) for saga in waiting} == {("RUNNING", "charge_payment")}
        assert Product.objects.get(sku="KB").reserved == 3, "the earlier steps stand"
        admin = Client()
        admin.force_login(StaffUserFactory(is_superuser=True))
        page = admin.get("/admin/sagas/saga/", {"state__exact": "RUNNING"}).content.decode()
        for saga_id in sagas:
            assert saga_id in page
        assert page.count("charge_payment") >= len(sagas)
        assert "so far" in page

        payments = start_worker(
            env, name=FLEET["worker-payments"]["name"], concurrency=1, queues=("payments",)
        )
        processes.append(payments)
        wait_until_settled(processes=tuple(processes), timeout=60)
        assert_invariants()
        # Beat sends a heartbeat to every queue, so each context's worker reports itself.
        wait_for(
            lambda: (
                {spec["name"] for spec in FLEET.values()}
                <= {
                    hostname.split("@", 1)[0]
                    for hostname in WorkerHeartbeat.objects.values_list("hostname", flat=True)
                }
            ),
            timeout=30,
            what="a heartbeat from every worker of the fleet",
            processes=tuple(processes),
        )
    finally:
        stop_together(processes)

    assert set(Saga.objects.filter(pk__in=sagas).values_list("state", flat=True)) == {"COMPLETED"}
    assert set(Order.objects.values_list("status", flat=True)) == {"CONFIRMED"}
    # The copies the sweeper sent while nobody consumed them found their step done.
    assert Charge.objects.count() == len(sagas)
    assert Customer.objects.get(pk=alice.pk).credit_available == Decimal("350.00")
