"""Projection: exactly once, no skipped events, failures contained and repaired."""

import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connections, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from eventlog.models import Event
from eventlog.services import event_append, event_log_head
from inventory.contracts import StockLine
from inventory.models import Product
from inventory.services import stock_reserve
from orders.services import order_place
from readmodels import projection, runner, wiring
from readmodels.models import (
    CustomerSummary,
    DailySales,
    OrderSummary,
    OrderTimelineEntry,
    ProductAvailability,
    ProjectorCheckpoint,
)
from readmodels.projectors.catalog import ProductAvailabilityProjector
from shipping.events import ShipmentFailed

from .events import SomethingNew
from .processes import ROOT, child_env, start_worker, wait_for, wait_until_ready
from .readside import ADDRESS, add_product, confirmed_order, projection_paused, register
from .sagas import assert_nothing_rescued, rescues

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "read"])


def checkpoints() -> dict[str, ProjectorCheckpoint]:
    return {checkpoint.projector: checkpoint for checkpoint in ProjectorCheckpoint.objects.all()}


def test_a_failing_projector_fails_neither_the_command_nor_the_other_projectors(staff_client, monkeypatch):
    add_product("KB", stock=1)

    def broken(self, rows, event):
        raise RuntimeError("disk full")

    monkeypatch.setattr(ProductAvailabilityProjector, "_restocked", broken)
    responses = [
        staff_client.post("/api/products/KB/restock/", {"quantity": 2}, format="json") for _ in range(3)
    ]

    assert [response.status_code for response in responses] == [200, 200, 200]
    head = event_log_head()
    state = checkpoints()
    stuck = state["product_availability"]
    assert stuck.position < head
    assert stuck.failures >= 1
    assert "disk full" in stuck.last_error
    assert stuck.last_error_position == stuck.position + 1
    assert all(
        state[name].position == head for name in wiring.PROJECTOR_NAMES if name != "product_availability"
    )
    assert ProductAvailability.objects.get(sku="KB").on_hand == 1

    monkeypatch.undo()
    wiring.catch_up()

    recovered = checkpoints()["product_availability"]
    assert recovered.position == head
    assert recovered.last_error == ""
    assert ProductAvailability.objects.get(sku="KB").on_hand == 7


def test_commits_only_wake_the_runner_and_many_commits_share_one_run(staff_client):
    wake_ups = []
    runner.install_waker(lambda: wake_ups.append(runner.pulse().runs_started))
    add_product("KB", stock=3)

    for _ in range(3):
        assert (
            staff_client.post("/api/products/KB/restock/", {"quantity": 2}, format="json").status_code == 200
        )

    assert not ProductAvailability.objects.exists(), "neither the command nor the request projected"
    assert wake_ups == [0], "one run asked for, none started yet: later commits ask for nothing"
    wiring.run()
    assert ProductAvailability.objects.get(sku="KB").on_hand == 9
    add_product("MS")
    assert wake_ups == [0, 1], "a commit after the run started asks for another"


def test_a_commit_at_the_end_of_a_run_asks_for_nothing_and_the_run_finds_it(monkeypatch):
    """The hardest moment: the run has read the head for the last time and not yet said it
    ended, so the commit sees it running and leaves its events to it."""
    wake_ups = []
    runner.install_waker(lambda: wake_ups.append("asked"))
    with projection_paused():
        add_product("KB", stock=3)
    mark = runner._mark
    committed_at_the_end = []

    def commit_then_mark(*, running, applied=0):
        if not running and not committed_at_the_end:
            committed_at_the_end.append(add_product("MS", stock=2))
        mark(running=running, applied=applied)

    monkeypatch.setattr(runner, "_mark", commit_then_mark)

    wiring.run()

    assert committed_at_the_end
    assert wake_ups == [], "the run was running: the commit left its events to it"
    assert set(ProductAvailability.objects.values_list("sku", flat=True)) == {"KB", "MS"}
    assert runner.pulse().runs_started == 2, "it looked again after it ended, and ran once more"
    assert not runner.pulse().running


def test_a_lingering_run_applies_what_commits_append_while_it_watches_and_none_of_them_wakes_it():
    """Commits come for longer than a wake-up is trusted without news (``RESEND_AFTER_SECONDS``):
    the run's beats tell them it is alive, so they send nothing. Told to stop, it ends at its
    next look instead of lingering on."""
    wake_ups, errors = [], []
    runner.install_waker(lambda: wake_ups.append("asked"))
    report = projection.RunReport()

    def lingering_run():
        try:
            report.applied = wiring.run(linger=10).applied
        except Exception as error:
            errors.append(error)
        finally:
            connections.close_all()

    run = threading.Thread(target=lingering_run)
    run.start()
    try:
        wait_for(lambda: runner.pulse().running, timeout=10, what="the run to start")
        skus = [f"SKU{n}" for n in range(6)]
        for sku in skus:
            add_product(sku, stock=2)
            time.sleep(runner.RESEND_AFTER_SECONDS / 4)
        wait_for(caught_up, timeout=10, what="the run to apply every commit")
        assert run.is_alive(), "still watching the log"
        runner.stop_lingering.set()
        run.join(timeout=5)
        assert not run.is_alive(), "told to stop, it ended long before its linger"
    finally:
        runner.stop_lingering.set()
        run.join(timeout=15)
        runner.stop_lingering.clear()

    assert errors == []
    assert wake_ups == [], "every commit found the run alive and left its events to it"
    assert set(ProductAvailability.objects.values_list("sku", flat=True)) == set(skus)
    consumed = sum(Event.objects.filter(type__in=list(p.consumes())).count() for p in wiring.PROJECTORS)
    assert report.applied == consumed, "each event, once per projector that reads it"
    assert runner.pulse().runs_started == 1
    assert not runner.pulse().running


def test_events_of_an_unknown_type_are_skipped_and_counted():
    add_product("KB")
    with transaction.atomic():
        event_append(SomethingNew(), aggregate_id="x")
    add_product("MS")

    state = checkpoints()
    assert all(checkpoint.position == event_log_head() for checkpoint in state.values())
    assert all(checkpoint.unknown_events == 1 for checkpoint in state.values())
    assert ProductAvailability.objects.count() == 2
    wiring.catch_up()
    assert checkpoints()["order_summary"].unknown_events == 1, "counted once, not at every look"


def test_events_committed_without_their_projection_are_applied_by_catch_up():
    with projection_paused():
        add_product("KB", stock=4)
    assert not ProductAvailability.objects.exists()

    report = wiring.catch_up()

    assert report.applied >= 1
    assert ProductAvailability.objects.get(sku="KB").on_hand == 4


def test_the_safety_net_leaves_fresh_events_to_live_projection_and_counts_what_it_rescues(settings):
    settings.READMODELS_CATCH_UP_SECONDS = 60
    with projection_paused():
        add_product("KB", stock=4)

    assert wiring.rescue_stalled().applied == 0, "an event a minute old is not stalled yet"
    assert not ProductAvailability.objects.exists()

    Event.objects.update(occurred_at=timezone.now() - timedelta(seconds=61))
    report = wiring.rescue_stalled()

    assert report.applied == 1, "the one event, by the one projector that reads it"
    assert ProductAvailability.objects.get(sku="KB").on_hand == 4
    rescued = {name: checkpoint.rescued_events for name, checkpoint in checkpoints().items()}
    assert rescued.pop("product_availability") == 1, "the one projector that reads the event"
    assert set(rescued.values()) == {0}


def test_live_projection_rescues_nothing():
    add_product("KB", stock=4)
    add_product("MS", stock=2)

    assert {checkpoint.position for checkpoint in checkpoints().values()} == {event_log_head()}
    assert {checkpoint.rescued_events for checkpoint in checkpoints().values()} == {0}


# Commits a product and is killed (SIGKILL) by the first of its commit hooks, before the hook
# that wakes the projection runner can run.
COMMIT_THEN_DIE = """
import os, signal
import django
django.setup()
from decimal import Decimal
from django.db import transaction
from inventory.services import product_create
with transaction.atomic():
    transaction.on_commit(lambda: os.kill(os.getpid(), signal.SIGKILL))
    product_create(sku="KB", name="Keyboard", price=Decimal("10.00"), stock=4)
"""


@pytest.mark.system
def test_beat_catches_up_what_a_killed_process_committed_but_never_projected(saga_processes):
    crashed = subprocess.run(
        [sys.executable, "-c", COMMIT_THEN_DIE], cwd=ROOT, env=child_env(), capture_output=True, timeout=60
    )
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr.decode()[-2000:]
    assert event_log_head() > 0, "the change and its events committed before the process died"

    product = wait_for(
        lambda: ProductAvailability.objects.filter(sku="KB").first(),
        timeout=30,
        what="the beat-scheduled catch-up to project the product",
        processes=saga_processes,
    )
    assert product.on_hand == 4
    assert rescues().caught_up == 1, "the product's event, applied by the one projector that reads it"
    with pytest.raises(AssertionError, match="needed rescuing"):
        assert_nothing_rescued()


def caught_up() -> bool:
    return (
        projection.projected_through([projector.name for projector in wiring.PROJECTORS]) >= event_log_head()
    )


def waiting_on_a_lock(database: str) -> bool:
    """A backend of ``database`` waits for a row lock: a runner stalled inside its batch."""
    with connections["default"].cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND wait_event_type = 'Lock'",
            [database],
        )
        return cursor.fetchone()[0] > 0


@pytest.mark.postgres
@pytest.mark.system
def test_a_runner_killed_inside_a_batch_hands_it_to_another_that_applies_it_once():
    """Runner A stalls inside a batch (this test holds a row the batch must write), is killed
    with SIGKILL, and runner B takes the batch over once A's transaction is rolled back. The
    counting read models show directly that each event was applied once."""
    from config.celery import app as celery_app

    celery_app.control.purge()
    runner.install_waker(runner.send_request)
    env = child_env()
    add_product("KB", stock=10)
    alice = register("alice")
    runner_a = start_worker(env, name="runner-a", concurrency=1, queues=("readmodels",))
    runner_b = None
    try:
        order_place(customer_id=alice.pk, items=[{"sku": "KB", "quantity": 1}], address=ADDRESS)
        wait_for(caught_up, timeout=30, what="runner A to project the first order", processes=(runner_a,))
        read_database = connections["read"].settings_dict["NAME"]
        # The row is held from a connection of its own: inside this test's read transaction the
        # wake-up would also hold the runner's pulse row, and A would stall before its batch.
        holder = connections.create_connection("read")
        try:
            holder.set_autocommit(False)
            holder.cursor().execute(
                "SELECT 1 FROM readmodels_customersummary WHERE customer_id = %s FOR UPDATE", [alice.pk]
            )
            order_place(customer_id=alice.pk, items=[{"sku": "KB", "quantity": 2}], address=ADDRESS)
            wait_for(
                lambda: waiting_on_a_lock(read_database),
                timeout=30,
                what="runner A to stall inside its batch",
                processes=(runner_a,),
            )
            assert runner.pulse().running, "A stalled inside its run, past the pulse it marks first"
            os.killpg(runner_a.process.pid, signal.SIGKILL)
            runner_a.process.wait(10)
            runner_b = start_worker(env, name="runner-b", concurrency=1, queues=("readmodels",))
            wait_until_ready(runner_b)
        finally:
            holder.rollback()
            holder.close()
        # The lock is gone: A's backend ends its statement, finds its client dead and rolls back.
        wait_for(
            lambda: runner.send_request() or caught_up(),
            timeout=30,
            what="runner B to take the batch over",
            processes=(runner_b,),
        )
    finally:
        for process in (runner_a, runner_b):
            if process is not None:
                process.stop()

    summary = CustomerSummary.objects.get(customer_id=alice.pk)
    assert (summary.orders_count, summary.orders_by_status) == (2, {"PENDING": 2})
    assert DailySales.objects.get().orders_placed == 2
    assert OrderTimelineEntry.objects.filter(type="OrderPlaced").count() == 2
    assert not ProjectorCheckpoint.objects.filter(failures__gt=0).exists()
    assert "Task readmodels.project[" in runner_b.output()


@pytest.mark.postgres
def test_concurrent_writers_and_a_concurrent_projector_apply_every_event_exactly_once():
    """Thirty-two writers, half of them holding their transactions open for a while after
    appending and half committing at once, so positions are handed out in one order and
    committed in another; a projector runs all along."""
    writers, transactions_each = 32, 10
    done = threading.Event()
    errors = []

    orders = [uuid.uuid4() for _ in range(writers)]

    def write(writer: int) -> None:
        held_open = (0.01, 0.03) if writer % 2 else (0, 0.002)
        try:
            for n in range(transactions_each):
                with transaction.atomic():
                    for k in range(random.randint(1, 3)):
                        # A type the timeline shows; no order summary exists for it to change.
                        event_append(
                            ShipmentFailed(order_id=orders[writer], country="XX", reason=f"{writer} {n} {k}"),
                            aggregate_id=orders[writer],
                            correlation_id=orders[writer],
                        )
                    time.sleep(random.uniform(*held_open))
        except Exception as error:
            errors.append(error)
        finally:
            connections.close_all()

    def project() -> None:
        try:
            while not done.is_set():
                wiring.catch_up()
        except Exception as error:
            errors.append(error)
        finally:
            connections.close_all()

    with projection_paused():
        projector = threading.Thread(target=project)
        projector.start()
        threads = [threading.Thread(target=write, args=(writer,)) for writer in range(writers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        done.set()
        projector.join()
    wiring.catch_up()

    assert errors == []
    events = {event.position: event for event in Event.objects.filter(type="ShipmentFailed")}
    projected = {entry.position: entry for entry in OrderTimelineEntry.objects.filter(type="ShipmentFailed")}
    assert len(events) >= writers * transactions_each
    assert sorted(projected) == sorted(events), "every event projected once, none skipped"
    assert all(projected[position].data == events[position].data for position in events)
    assert checkpoints()["order_timeline"].position == event_log_head()


@pytest.mark.postgres
def test_a_product_reserved_twice_at_once_shows_the_stock_of_the_last_commit():
    """Two reservations of one product, the first to begin committing last: the second waits
    for nothing the first holds until it reserves. A reader that orders events by when their
    transactions began, rather than by when they changed the row, would leave the product at
    the first commit's level."""
    add_product("KB", stock=10)
    began, first_committed = threading.Event(), threading.Event()
    errors = []

    def reserve(order_id: uuid.UUID, quantity: int) -> None:
        stock_reserve(
            saga_id=uuid.uuid4(), step="reserve_stock", order_id=order_id, lines=[StockLine("KB", quantity)]
        )

    def began_first_committed_last() -> None:
        try:
            with transaction.atomic():
                with connections["default"].cursor() as cursor:
                    cursor.execute("SELECT pg_current_xact_id()")  # its transaction id, taken now
                began.set()
                assert first_committed.wait(10)
                reserve(uuid.uuid4(), 2)
        except Exception as error:
            errors.append(error)
        finally:
            connections.close_all()

    with projection_paused():
        later = threading.Thread(target=began_first_committed_last)
        later.start()
        assert began.wait(10)
        with transaction.atomic():
            reserve(uuid.uuid4(), 3)
        first_committed.set()
        later.join(10)
    wiring.catch_up()

    assert errors == []
    product = Product.objects.get(sku="KB")
    assert (product.on_hand, product.reserved) == (10, 5)
    shown = ProductAvailability.objects.get(sku="KB")
    assert (shown.on_hand, shown.reserved, shown.available) == (10, 5, 5)


def test_a_rebuild_gives_the_rows_live_projection_gave(staff_client):
    add_product("KB", price="12.50", stock=3)
    staff_client.post("/api/products/KB/restock/", {"quantity": 4}, format="json")
    live = list(ProductAvailability.objects.values())

    output = StringIO()

    call_command("rebuild_readmodels", "--projector", "product_availability", stdout=output)

    assert list(ProductAvailability.objects.values()) == live
    assert "product_availability: 2 events replayed" in output.getvalue()
    assert live[0]["on_hand"] == 7
    assert live[0]["price"] == Decimal("12.50")


def test_events_written_before_correlation_ids_are_read_in_todays_shape():
    """The log's older rows filed reservations, payments and shipments under the order and had
    no correlation ids. Read through the upcaster, a rebuild from them gives what live
    projection of today's rows gave."""
    add_product("KB", stock=5)
    alice = register("alice")
    order = confirmed_order(alice, "KB", 2)
    read_models = (OrderSummary, OrderTimelineEntry, CustomerSummary, ProductAvailability, DailySales)
    live = {model: list(model.objects.order_by("pk").values()) for model in read_models}
    assert len(live[OrderTimelineEntry]) >= 4

    followed = Event.objects.filter(correlation_id=order.pk)
    followed.exclude(aggregate_type="saga").update(aggregate_type="order", correlation_id=None)
    followed.update(correlation_id=None)
    assert not Event.objects.filter(correlation_id__isnull=False).exists()
    call_command("rebuild_readmodels", stdout=StringIO())

    assert {model: list(model.objects.order_by("pk").values()) for model in read_models} == live


def test_the_runner_reads_only_the_event_types_its_projectors_consume():
    add_product("KB")
    with projection_paused(), transaction.atomic():
        event_append(SomethingNew(), aggregate_id="x")

    with CaptureQueriesContext(connections["default"]) as queries:
        wiring.catch_up()

    reads = [query["sql"] for query in queries if '"eventlog_event"."position" >' in query["sql"]]
    assert reads
    assert all('"eventlog_event"."type" IN' in sql for sql in reads)
    assert "SomethingNew" not in " ".join(reads)
    assert checkpoints()["order_summary"].unknown_events == 1


def test_a_row_projector_applies_a_batch_in_two_statements_whatever_its_size(staff_client):
    for sku in ("KB", "MS", "PAD"):
        add_product(sku, stock=1)
        for _ in range(3):
            response = staff_client.post(f"/api/products/{sku}/restock/", {"quantity": 2}, format="json")
            assert response.status_code == 200
    wiring.catch_up()
    projected = list(ProductAvailability.objects.order_by("sku").values())
    projector = ProductAvailabilityProjector()
    events, _, _, _ = projection.read_log(0, event_log_head(), projector.consumes())
    assert len(events) == 12

    # Inside a transaction, as the runner calls it.
    with transaction.atomic(using="read"), CaptureQueriesContext(connections["read"]) as one_event:
        projector.apply_batch(events[:1])
    with transaction.atomic(using="read"), CaptureQueriesContext(connections["read"]) as every_event:
        projector.apply_batch(events)

    assert len(one_event) == len(every_event) == 2, [query["sql"] for query in every_event]
    assert list(ProductAvailability.objects.order_by("sku").values()) == projected
