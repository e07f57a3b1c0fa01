"""The saga console in the admin: filters, the timeline, and the retry/compensate commands.

Sagas are put in their states by the engine itself; the test's transaction never commits, so
no command leaves for a broker.
"""

import re
from datetime import timedelta
from uuid import uuid4

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from eventlog.models import Event
from inventory.factories import ProductFactory
from inventory.models import StockReservation, StockReservationLine
from orders.sagas import CANCEL_ORDER, DISPATCH_ORDER, PLACE_ORDER, PlacedOrder
from payments.factories import StaffUserFactory
from sagas import engine
from sagas.models import Direction, Failpoint, Saga
from sagas.protocol import Outcome

from .sagas import answer, order_to_fulfil

pytestmark = pytest.mark.django_db

SAGA_LIST = reverse("admin:sagas_saga_changelist")


def change_url(saga: Saga) -> str:
    return reverse("admin:sagas_saga_change", args=[saga.pk])


def operation_url(saga: Saga, operation: str) -> str:
    return reverse(f"admin:sagas_saga_{operation}", args=[saga.pk])


def reply(saga: Saga, step: str, *, attempt: int, outcome: Outcome, direction=Direction.FORWARD, **details):
    answer(saga.pk, step, outcome, direction=direction, attempt=attempt, **details)


def running_place_order() -> Saga:
    """Waiting for its reserve_stock reply."""
    return engine.saga_start(definition=PLACE_ORDER, subject_id=uuid4(), data=order_to_fulfil())


def failed_cancel_order() -> Saga:
    """A cancellation whose first step kept failing until the engine gave up."""
    saga = engine.saga_start(definition=CANCEL_ORDER, subject_id=uuid4(), data=PlacedOrder(uuid4()))
    for attempt in range(1, CANCEL_ORDER.steps[0].retry.max_attempts + 1):
        reply(saga, "cancel_shipment", attempt=attempt, outcome=Outcome.TRANSIENT, error="carrier API down")
    saga.refresh_from_db()
    assert saga.state == Saga.State.FAILED
    return saga


def completed_dispatch() -> Saga:
    saga = engine.saga_start(definition=DISPATCH_ORDER, subject_id=uuid4(), data=PlacedOrder(uuid4()))
    for step in DISPATCH_ORDER.steps:
        reply(saga, step.name, attempt=1, outcome=Outcome.SUCCEEDED, result={})
    saga.refresh_from_db()
    assert saga.state == Saga.State.COMPLETED
    return saga


def shown(response) -> set:
    return {saga.pk for saga in response.context["cl"].result_list}


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def run_action(client, action: str, *sagas: Saga):
    return client.post(SAGA_LIST, {"action": action, "_selected_action": [saga.pk for saga in sagas]})


@pytest.fixture
def operator_client(client):
    client.force_login(StaffUserFactory(is_superuser=True))
    return client


def staff_client_with(client, *codenames: str):
    user = StaffUserFactory()
    user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="sagas", codename__in=codenames)
    )
    client.force_login(user)
    return client


@pytest.fixture
def sagas_by_age():
    now = timezone.now()
    fresh = running_place_order()
    overdue = running_place_order()
    hours_old = running_place_order()
    days_old = engine.saga_start(definition=CANCEL_ORDER, subject_id=uuid4(), data=PlacedOrder(uuid4()))
    # The engine cannot age a saga, so the clock is moved by hand.
    Saga.objects.filter(pk=overdue.pk).update(
        created_at=now - timedelta(hours=2), deadline_at=now - timedelta(minutes=1)
    )
    Saga.objects.filter(pk=hours_old.pk).update(
        created_at=now - timedelta(hours=5),
        state=Saga.State.COMPLETED,
        deadline_at=now - timedelta(hours=4),
        finished_at=now - timedelta(hours=4),
    )
    Saga.objects.filter(pk=days_old.pk).update(created_at=now - timedelta(days=3), state=Saga.State.FAILED)
    return {"fresh": fresh, "overdue": overdue, "hours_old": hours_old, "days_old": days_old}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, {"fresh", "overdue", "hours_old", "days_old"}),
        ({"age": "hour"}, {"fresh"}),
        ({"age": "day"}, {"fresh", "overdue", "hours_old"}),
        ({"age": "older"}, {"days_old"}),
        ({"age": "overdue"}, {"overdue"}),
        ({"state__exact": "COMPLETED"}, {"hours_old"}),
        ({"type__exact": "cancel_order"}, {"days_old"}),
        ({"state__exact": "RUNNING", "age": "hour"}, {"fresh"}),
    ],
    ids=lambda value: "&".join(f"{k}={v}" for k, v in value.items()) if isinstance(value, dict) else None,
)
def test_saga_list_filters(operator_client, sagas_by_age, query, expected):
    response = operator_client.get(SAGA_LIST, query)

    assert response.status_code == 200
    assert shown(response) == {sagas_by_age[name].pk for name in expected}


def test_saga_list_searches_exact_saga_and_order_ids(operator_client, sagas_by_age):
    fresh = sagas_by_age["fresh"]

    assert shown(operator_client.get(SAGA_LIST, {"q": str(fresh.pk)})) == {fresh.pk}
    assert shown(operator_client.get(SAGA_LIST, {"q": str(fresh.subject_id)})) == {fresh.pk}
    assert shown(operator_client.get(SAGA_LIST, {"q": str(fresh.pk)[:8]})) == set()


def test_change_page_shows_steps_and_compensations_as_a_timeline(
    operator_client, django_assert_max_num_queries
):
    saga = running_place_order()
    reply(saga, "reserve_stock", attempt=1, outcome=Outcome.TRANSIENT, error="warehouse timeout")
    reply(saga, "reserve_stock", attempt=2, outcome=Outcome.SUCCEEDED, result={"reserved": 2})
    reply(
        saga,
        "charge_payment",
        attempt=1,
        outcome=Outcome.FAILED,
        error_code="PAYMENT_DECLINED",
        error="card refused",
    )

    with django_assert_max_num_queries(5):
        response = operator_client.get(change_url(saga))

    html = response.content.decode()
    rows = [
        (row.step.name, row.step.direction, row.step.attempts) for row in response.context["timeline"].rows
    ]
    assert rows == [
        ("place_order", Direction.FORWARD, 0),
        ("reserve_stock", Direction.FORWARD, 2),
        ("charge_payment", Direction.FORWARD, 1),
        ("release_stock", Direction.COMPENSATION, 1),
    ]
    for name, *_ in rows:
        assert f'<th scope="row">{name}</th>' in html
    assert "2 attempts" in html
    assert "TRANSIENT" in html
    assert "warehouse timeout" in html
    assert "PAYMENT_DECLINED: card refused" in html
    assert "<td>card refused</td>" in html
    assert 'class="bar COMPENSATION RUNNING"' in html


def test_retry_action_resumes_a_failed_saga_through_the_engine(operator_client):
    saga = failed_cancel_order()

    response = run_action(operator_client, "retry_failed", saga)

    saga.refresh_from_db()
    assert response.status_code == 302
    assert saga.state == Saga.State.RUNNING
    assert saga.steps.get(name="cancel_shipment").attempts == 1
    assert Event.objects.filter(saga_id=saga.pk, type="SagaRetried").exists()
    entry = LogEntry.objects.get(object_id=str(saga.pk))
    assert entry.action_flag == CHANGE
    assert "Retried" in entry.get_change_message()
    assert messages_of(response) == ["Retried 1 saga."]


def test_retry_action_skips_a_completed_saga(operator_client):
    saga = completed_dispatch()
    updated_at = saga.updated_at

    response = run_action(operator_client, "retry_failed", saga)

    saga.refresh_from_db()
    assert (saga.state, saga.updated_at) == (Saga.State.COMPLETED, updated_at)
    assert not LogEntry.objects.exists()
    [message] = messages_of(response)
    assert message.startswith(f"Skipped 1 saga: {saga.pk} (only a FAILED saga can be retried")


def test_compensate_action_aborts_a_running_place_order_and_skips_a_cancellation(operator_client):
    stuck = running_place_order()
    cancellation = engine.saga_start(definition=CANCEL_ORDER, subject_id=uuid4(), data=PlacedOrder(uuid4()))

    response = run_action(operator_client, "compensate_stuck", stuck, cancellation)

    stuck.refresh_from_db()
    cancellation.refresh_from_db()
    assert stuck.state in (Saga.State.COMPENSATING, Saga.State.COMPENSATED)
    assert stuck.failure_code == "ABORTED"
    assert cancellation.state == Saga.State.RUNNING
    assert list(LogEntry.objects.values_list("object_id", flat=True)) == [str(stuck.pk)]
    done, skipped = messages_of(response)
    assert done == "Forced compensation of 1 saga."
    assert skipped.startswith(f"Skipped 1 saga: {cancellation.pk}")


def test_change_page_offers_only_the_operation_that_fits(operator_client):
    failed = failed_cancel_order()
    running = running_place_order()

    failed_page = operator_client.get(change_url(failed)).content.decode()
    running_page = operator_client.get(change_url(running)).content.decode()

    assert operation_url(failed, "retry") in failed_page
    assert operation_url(failed, "compensate") not in failed_page
    assert operation_url(running, "compensate") in running_page
    assert operation_url(running, "retry") not in running_page


def test_retry_button_works_with_post_and_refuses_get(operator_client):
    saga = failed_cancel_order()

    refused = operator_client.get(operation_url(saga, "retry"))
    saga.refresh_from_db()
    assert refused.status_code == 405
    assert saga.state == Saga.State.FAILED

    response = operator_client.post(operation_url(saga, "retry"))

    saga.refresh_from_db()
    assert response.status_code == 302
    assert response["Location"] == change_url(saga)
    assert saga.state == Saga.State.RUNNING
    assert LogEntry.objects.filter(object_id=str(saga.pk), action_flag=CHANGE).count() == 1


def test_compensate_button_aborts_a_running_saga(operator_client):
    saga = running_place_order()

    response = operator_client.post(operation_url(saga, "compensate"))

    saga.refresh_from_db()
    assert response.status_code == 302
    assert (saga.state, saga.failure_code) == (Saga.State.COMPENSATING, "ABORTED")
    assert messages_of(response) == ["Forced compensation of this saga."]


def test_a_button_that_does_not_fit_the_state_changes_nothing(operator_client):
    saga = running_place_order()

    response = operator_client.post(operation_url(saga, "retry"))

    saga.refresh_from_db()
    assert response.status_code == 302
    assert saga.state == Saga.State.RUNNING
    assert not LogEntry.objects.exists()
    assert messages_of(response)[0].startswith("Nothing done: only a FAILED saga can be retried")


def test_buttons_post_with_their_form_csrf_token_and_refuse_without():
    client = Client(enforce_csrf_checks=True)
    client.force_login(StaffUserFactory(is_superuser=True))
    saga = failed_cancel_order()
    retry_url = operation_url(saga, "retry")

    forged = client.post(retry_url)
    saga.refresh_from_db()
    assert forged.status_code == 403
    assert saga.state == Saga.State.FAILED

    page = client.get(change_url(saga)).content.decode()
    button_form = re.search(
        rf'action="{re.escape(retry_url)}">\s*<input type="hidden" name="csrfmiddlewaretoken" value="([^"]+)"',
        page,
    )
    assert button_form is not None
    response = client.post(retry_url, {"csrfmiddlewaretoken": button_form[1]})

    saga.refresh_from_db()
    assert response.status_code == 302
    assert saga.state == Saga.State.RUNNING


def test_staff_who_may_only_view_sagas_cannot_operate_them(client):
    viewer = staff_client_with(client, "view_saga")
    saga = failed_cancel_order()

    page = viewer.get(change_url(saga))
    changelist = viewer.get(SAGA_LIST)
    action = run_action(viewer, "retry_failed", saga)
    button = viewer.post(operation_url(saga, "retry"))

    saga.refresh_from_db()
    assert page.status_code == 200
    assert operation_url(saga, "retry") not in page.content.decode()
    assert changelist.context["action_form"] is None
    assert action.status_code == 200, "the changelist again: no action form to run"
    assert button.status_code == 403
    assert saga.state == Saga.State.FAILED
    assert not LogEntry.objects.exists()


def test_staff_with_the_change_permission_operate_but_cannot_edit_fields(client):
    operator = staff_client_with(client, "change_saga")
    saga = failed_cancel_order()

    page = operator.get(change_url(saga))
    edit = operator.post(change_url(saga), {"state": Saga.State.COMPLETED})
    saga.refresh_from_db()
    assert 'name="state"' not in page.content.decode()
    assert edit.status_code == 403
    assert saga.state == Saga.State.FAILED

    run_action(operator, "retry_failed", saga)

    saga.refresh_from_db()
    assert saga.state == Saga.State.RUNNING


def test_failpoint_can_be_added_but_fired_is_not_editable(operator_client):
    response = operator_client.post(
        reverse("admin:sagas_failpoint_add"),
        {"task": "payments.charge_payment", "action": Failpoint.Action.FAIL, "remaining": "2", "fired": "9"},
    )

    assert response.status_code == 302
    point = Failpoint.objects.get()
    assert (point.task, point.action, point.remaining, point.fired) == (
        "payments.charge_payment",
        Failpoint.Action.FAIL,
        2,
        0,
    )


def test_failpoint_list_warns_when_failpoints_are_switched_off(operator_client, settings):
    settings.SAGA_FAILPOINTS_ENABLED = False

    response = operator_client.get(reverse("admin:sagas_failpoint_changelist"))

    assert "SAGA_FAILPOINTS_ENABLED is off" in response.content.decode()


def test_stock_reservation_is_found_by_order_id_and_shows_its_lines(operator_client):
    product = ProductFactory(sku="LAMP-1")
    reservation = StockReservation.objects.create(order_id=uuid4(), saga_id=uuid4())
    StockReservationLine.objects.create(reservation=reservation, product=product, quantity=3)
    StockReservation.objects.create(order_id=uuid4(), saga_id=uuid4())
    changelist = reverse("admin:inventory_stockreservation_changelist")

    found = operator_client.get(changelist, {"q": str(reservation.order_id)})
    page = operator_client.get(reverse("admin:inventory_stockreservation_change", args=[reservation.pk]))

    assert [row.pk for row in found.context["cl"].result_list] == [reservation.pk]
    assert "LAMP-1" in page.content.decode()
    assert 'name="lines-0-quantity"' not in page.content.decode()
