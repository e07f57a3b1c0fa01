import threading
import time

import pytest
from django.db import connections, transaction

from eventlog.models import Event
from eventlog.services import OutsideTransactionError, appends_last, event_append, event_log_head
from payments.factories import UserFactory

from .events import Probed, Ticked


@pytest.mark.django_db(transaction=True)
def test_events_are_only_appended_inside_the_transaction_of_their_change():
    with pytest.raises(OutsideTransactionError):
        event_append(Probed(), aggregate_id="A")

    assert Event.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_change_leaves_no_event():
    class Boom(Exception):
        pass

    def change_that_fails_after_its_event():
        with transaction.atomic():
            event_append(Probed(), aggregate_id="A")
            raise Boom

    with pytest.raises(Boom):
        change_that_fails_after_its_event()

    assert Event.objects.count() == 0
    assert event_log_head() == 0


@pytest.mark.django_db
def test_positions_grow_and_the_head_is_the_newest():
    with transaction.atomic():
        first = event_append(Probed(n=1), aggregate_id="A")
        second = event_append(Ticked(), aggregate_id="A")

    assert first.position < second.position
    assert event_log_head() == second.position
    assert list(Event.objects.values_list("type", flat=True)) == ["ProbeRecorded", "Ticked"]


@pytest.mark.django_db
def test_a_successful_post_that_appends_nothing_reports_the_head(anonymous_client):
    UserFactory(username="erin")
    with transaction.atomic():
        head = event_append(Probed(), aggregate_id="A").position

    response = anonymous_client.post(
        "/api/auth/token/", {"username": "erin", "password": "correct-horse-battery"}, format="json"
    )

    assert response.status_code == 200
    assert response["X-Event-Position"] == str(head)


@pytest.mark.django_db
def test_a_failed_command_carries_no_position(staff_client):
    response = staff_client.post("/api/products/NOPE/restock/", {"quantity": 1}, format="json")

    assert response.status_code == 404
    assert "X-Event-Position" not in response


@pytest.mark.django_db
def test_appends_last_writes_the_blocks_events_after_its_rows_in_order():
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries, transaction.atomic(), appends_last():
        held = event_append(Probed(), aggregate_id="A")
        UserFactory(username="written-after-the-append-call")
        event_append(Ticked(), aggregate_id="A")
        assert held is None
        assert Event.objects.count() == 0

    inserts = [query["sql"] for query in queries if query["sql"].startswith("INSERT")]
    assert "auth_user" in inserts[0]
    assert len(inserts) == 2, "the block's events in one statement"
    assert "eventlog_event" in inserts[1]
    assert sum("pg_advisory_xact_lock" in query["sql"] for query in queries) <= 1, "one lock for the block"
    assert list(Event.objects.order_by("position").values_list("type", flat=True)) == [
        "ProbeRecorded",
        "Ticked",
    ]


@pytest.mark.django_db
def test_nested_appends_last_blocks_leave_the_writing_to_the_outermost():
    with transaction.atomic(), appends_last():
        with appends_last():
            event_append(Probed(), aggregate_id="A")
        assert Event.objects.count() == 0
    assert Event.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_an_appends_last_block_that_fails_writes_nothing():
    class Boom(Exception):
        pass

    def change_that_fails_after_its_event():
        with transaction.atomic(), appends_last():
            event_append(Probed(), aggregate_id="A")
            raise Boom

    with pytest.raises(Boom):
        change_that_fails_after_its_event()

    assert Event.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_event_times_follow_positions_when_writers_overlap():
    """The daily buckets and the projection lag read ``occurred_at`` as commit order. Writers
    that ask to append early and write late (``appends_last``), after work of different lengths,
    must still leave times that grow with positions."""
    errors = []

    def writer(index: int) -> None:
        try:
            for _ in range(5):
                with transaction.atomic(), appends_last():
                    event_append(Ticked(), aggregate_id=str(index))
                    # The rest of the transaction's work, shorter for some writers than others.
                    time.sleep(0.002 if index % 2 else 0.02)
        except Exception as error:
            errors.append(error)
        finally:
            connections.close_all()

    writers = [threading.Thread(target=writer, args=(index,)) for index in range(4)]
    for thread in writers:
        thread.start()
    for thread in writers:
        thread.join()

    assert not errors
    times = list(
        Event.objects.filter(aggregate_type="clock")
        .order_by("position")
        .values_list("occurred_at", flat=True)
    )
    assert len(times) == 20
    assert times == sorted(times)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_no_later_position_is_visible_while_an_earlier_one_is_in_flight():
    """A deterministic interleaving of two writers: the first appends and keeps its transaction
    open; the second appends and commits while it waits. A reader in between must not see the
    second position without the first, or a checkpoint could move past the first for ever."""
    first_appended, first_may_commit, second_committed = (
        threading.Event(),
        threading.Event(),
        threading.Event(),
    )
    errors = []

    def append(n: int) -> None:
        event_append(Probed(n=n), aggregate_id="P")

    def first() -> None:
        try:
            with transaction.atomic():
                append(1)
                first_appended.set()
                first_may_commit.wait(10)
        except Exception as error:
            errors.append(error)
        finally:
            connections.close_all()

    def second() -> None:
        try:
            with transaction.atomic():
                append(2)
            second_committed.set()
        except Exception as error:
            errors.append(error)
        finally:
            connections.close_all()

    writers = [threading.Thread(target=first), threading.Thread(target=second)]
    writers[0].start()
    assert first_appended.wait(10)
    writers[1].start()
    second_committed.wait(1)  # every chance to commit; with the append lock it cannot
    visible_meanwhile = list(Event.objects.filter(type="ProbeRecorded").values_list("position", flat=True))
    first_may_commit.set()
    for writer in writers:
        writer.join(10)

    assert errors == []
    assert visible_meanwhile == [], (
        f"position {visible_meanwhile} committed while an earlier one was in flight"
    )
    positions = list(
        Event.objects.filter(type="ProbeRecorded").order_by("position").values_list("data", flat=True)
    )
    assert positions == [{"n": 1}, {"n": 2}]
