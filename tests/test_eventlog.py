import threading

import pytest
from django.db import connections, transaction
from django.utils import timezone

from eventlog.models import Event
from eventlog.services import OutsideTransactionError, SettledLog, appends_last, event_append, event_log_head
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
    assert sum("pg_current_xact_id()" in query["sql"] for query in queries) <= 1, "one id for the block"
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


@pytest.mark.django_db
def test_an_appends_last_block_stamps_its_events_when_it_writes_them():
    """The daily buckets and the projection lag read ``occurred_at`` as the time of the commit,
    so an event asked for early in a transaction is stamped at the end, when it is written."""
    with transaction.atomic(), appends_last():
        asked_at = timezone.now()
        event_append(Ticked(), aggregate_id="A")
        UserFactory(username="the-rest-of-the-transaction")
        rest_done_at = timezone.now()

    assert asked_at < rest_done_at
    assert Event.objects.get().occurred_at >= rest_done_at


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_reader_takes_no_position_past_one_in_flight_until_it_commits_or_rolls_back():
    """A deterministic interleaving: the first writer appends and keeps its transaction open;
    the second appends after it and commits. Writers do not wait for each other, so the second
    position is visible while the first is in flight, and a reader that moved past the first
    would skip it for ever: the settled head stays below it until it commits. A position given
    to a transaction that rolls back settles too, once that transaction has ended."""
    first_appended, first_may_end, errors = threading.Event(), threading.Event(), []
    positions = {}

    def first(commit: bool) -> None:
        try:
            with transaction.atomic():
                positions["first"] = event_append(Probed(n=1), aggregate_id="P").position
                first_appended.set()
                assert first_may_end.wait(10)
                if not commit:
                    transaction.set_rollback(True)
        except Exception as error:
            errors.append(error)
        finally:
            connections.close_all()

    for commit in (True, False):
        first_appended.clear()
        first_may_end.clear()
        log = SettledLog()
        writer = threading.Thread(target=first, args=(commit,))
        writer.start()
        assert first_appended.wait(10)
        with transaction.atomic():
            second = event_append(Probed(n=2), aggregate_id="P").position

        assert positions["first"] < second
        assert Event.objects.filter(position=second).exists(), "writers no longer wait for each other"
        assert log.head(wait=0.2) < positions["first"]
        first_may_end.set()
        writer.join(10)
        assert log.head(wait=10) >= second

    assert errors == []
    assert list(Event.objects.order_by("position").values_list("data", flat=True)) == [
        {"n": 1},
        {"n": 2},
        {"n": 2},
    ]
