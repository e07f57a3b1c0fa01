"""The operations dashboard in the admin: staff only, counts that open the sagas they count,
charts drawn from the saga tables and the read models, and a bounded number of queries.

Sagas are put in their states by the engine itself; the read models are brought up to date by
running the projectors in the test's own transaction, so nothing leaves for a broker.
"""

import re
from datetime import timedelta
from html import unescape
from uuid import uuid4

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from orders.models import Order
from orders.sagas import CANCEL_ORDER, PlacedOrder
from orders.services import order_place
from payments.factories import StaffUserFactory
from readmodels import wiring
from readmodels.models import ProjectorCheckpoint
from sagas import engine
from sagas.models import Direction, Saga
from sagas.protocol import Outcome

from .readside import ADDRESS, add_product, register
from .sagas import answer

pytestmark = pytest.mark.django_db(databases=["default", "read"])

DASHBOARD = reverse("dashboard")
PANELS = reverse("dashboard-panels")
# Each alias's queries for one rendering of the panels, not counting the session and the user:
# six on the write side, plus one per projector that lags (the age of its oldest pending event);
# six on the read side, the projection runner's pulse among them.
MAX_WRITE_QUERIES = 6 + len(wiring.PROJECTOR_NAMES)
MAX_READ_QUERIES = 6
PLACE_ORDER_STEPS = ("reserve_stock", "charge_payment", "schedule_shipment", "confirm_order")


reply = answer


def completed_order(customer, sku="KB"):
    order = order_place(customer_id=customer.pk, items=[{"sku": sku, "quantity": 2}], address=ADDRESS)
    for step in PLACE_ORDER_STEPS:
        reply(order.saga_id, step, Outcome.SUCCEEDED, result={})
    return order


def out_of_stock_order(customer, sku="KB"):
    order = order_place(customer_id=customer.pk, items=[{"sku": sku, "quantity": 1}], address=ADDRESS)
    reply(order.saga_id, "reserve_stock", Outcome.FAILED, error_code="OUT_OF_STOCK", error="none left")
    reply(order.saga_id, "reject_order", Outcome.SUCCEEDED, direction=Direction.COMPENSATION, result={})
    return order


def failed_cancellation():
    saga = engine.saga_start(definition=CANCEL_ORDER, subject_id=uuid4(), data=PlacedOrder(uuid4()))
    for attempt in range(1, CANCEL_ORDER.steps[0].retry.max_attempts + 1):
        reply(saga.pk, "cancel_shipment", Outcome.TRANSIENT, attempt=attempt, error="carrier API down")
    return Saga.objects.get(pk=saga.pk)


@pytest.fixture
def traffic():
    add_product("KB", price="20.00", stock=50)
    add_product("MS", price="5.00", stock=50)
    alice = register("alice", limit="10000.00")
    sagas = {
        "completed": [completed_order(alice).saga_id for _ in range(3)],
        "out_of_stock": [out_of_stock_order(alice).saga_id for _ in range(2)],
        "failed": [failed_cancellation().pk],
        "running": [
            order_place(customer_id=alice.pk, items=[{"sku": "MS", "quantity": 1}], address=ADDRESS).saga_id
        ],
    }
    wiring.catch_up()
    return {"customer": alice, "sagas": sagas}


@pytest.fixture
def staff(client):
    """An operator: the lists the dashboard links to need the models' view permissions."""
    client.force_login(StaffUserFactory(is_superuser=True))
    return client


def tile(html: str, label: str) -> tuple[str, str]:
    """The (href, value) of the dashboard tile with this label."""
    match = re.search(
        r'<a class="dashboard-tile[^"]*" href="([^"]+)"[^>]*>\s*<span class="tile-value">([^<]+)</span>\s*'
        rf'<span class="tile-label">{re.escape(label)}</span>',
        html,
    )
    assert match, f"no tile {label!r}"
    return unescape(match.group(1)), match.group(2)


def listed_sagas(client, url: str) -> set:
    response = client.get(url)
    assert response.status_code == 200, url
    return {saga.pk for saga in response.context["cl"].result_list}


def test_only_staff_reach_the_dashboard(client, django_user_model):
    login = reverse("admin:login")
    for url in (DASHBOARD, PANELS):
        assert client.get(url).url.startswith(f"{login}?next=")
    client.force_login(django_user_model.objects.create_user("shopper", password="pw-shopper-123"))
    for url in (DASHBOARD, PANELS):
        assert client.get(url).url.startswith(f"{login}?next=")


def test_the_admin_index_links_to_the_dashboard(staff):
    response = staff.get(reverse("admin:index"))

    assert f'href="{DASHBOARD}"' in response.content.decode()


def test_the_page_draws_every_chart_as_inline_svg_with_no_external_asset(staff, traffic):
    response = staff.get(DASHBOARD)

    html = response.content.decode()
    assert response.status_code == 200
    captions = re.findall(r"<figcaption>([^<]+)</figcaption>", html)
    assert captions == [
        "Saga outcomes",
        "Sagas started per minute",
        "Saga latency percentiles",
        "Projection lag per projector",
        "Stock of the busiest products",
        "Orders per day",
    ]
    assert html.count('<svg class="chart-svg"') == len(captions)
    assert 'src="/static/dashboard/dashboard.js"' in html
    assert not re.search(r'(?:src|href)="(?:https?:)?//', html), "every asset is served by the application"


def test_counts_open_the_admin_lists_of_what_they_count(staff, traffic):
    html = staff.get(DASHBOARD).content.decode()
    sagas = traffic["sagas"]

    failed_url, failed = tile(html, "failed")
    assert failed == "1"
    assert listed_sagas(staff, failed_url) == set(sagas["failed"])
    completed_url, completed = tile(html, "completed in 15 minutes")
    assert completed == "3"
    assert listed_sagas(staff, completed_url) == set(sagas["completed"])
    running_url, running = tile(html, "running")
    assert running == "1"
    assert listed_sagas(staff, running_url) == set(sagas["running"])


def test_the_outcome_legend_counts_compensations_by_reason_and_opens_them(staff, traffic):
    html = staff.get(DASHBOARD).content.decode()

    legend = re.search(r'<a href="([^"]+)">compensated · OUT_OF_STOCK <strong>(\d+)</strong>', html)
    assert legend, "a legend entry for the OUT_OF_STOCK compensations"
    assert legend.group(2) == "2"
    assert listed_sagas(staff, unescape(legend.group(1))) == set(traffic["sagas"]["out_of_stock"])
    bars = re.findall(r'<rect class="(ok|reason-stock|bad)"', html)
    assert {"ok", "reason-stock"} <= set(bars)


def test_read_models_feed_orders_stock_and_sales(staff, traffic):
    html = staff.get(PANELS).content.decode()

    # The sagas were driven by replies alone: no participant ran, so orders stay PENDING and no
    # stock is reserved, but the read models still hold every order placed.
    assert tile(html, "PENDING")[1] == "6"
    assert "KB Product KB" in html
    assert "50 free of 50 · 8 ordered" in html
    assert re.search(r'<th scope="row">\w{3} \d\d</th><td>6</td>', html), "today's sales row: 6 placed"


def test_the_panels_alone_have_no_admin_chrome(staff, traffic):
    html = staff.get(f"{PANELS}?window=24h").content.decode()

    assert "<html" not in html
    assert 'id="header"' not in html
    assert "last 24 hours" in html
    assert html.count("<svg") == 6


def test_failed_and_overdue_sagas_are_listed_with_a_link_to_their_timeline(staff, traffic):
    Saga.objects.filter(pk=traffic["sagas"]["running"][0]).update(
        deadline_at=Saga.objects.get(pk=traffic["sagas"]["running"][0]).created_at - timedelta(minutes=1)
    )

    html = staff.get(PANELS).content.decode()

    attention = html[html.index("Needs attention") :]
    for saga_id in (traffic["sagas"]["failed"][0], traffic["sagas"]["running"][0]):
        assert f'href="{reverse("admin:sagas_saga_change", args=[saga_id])}"' in attention
    assert "RUNNING (overdue)" in attention
    assert tile(html, "overdue")[1] == "1"


def test_a_failing_projector_raises_an_alert(staff, traffic):
    ProjectorCheckpoint.objects.filter(projector="order_summary").update(
        last_error="ValueError: broken", failures=1
    )

    html = staff.get(PANELS).content.decode()

    assert re.search(r'class="dashboard-tile alert" href="[^"]+projectorcheckpoint/"', html)
    assert "failing: ValueError: broken" in html


def queries_per_alias(client, url: str) -> dict[str, int]:
    with (
        CaptureQueriesContext(connections["default"]) as write,
        CaptureQueriesContext(connections["read"]) as read,
    ):
        assert client.get(url).status_code == 200
    figures = [query for query in write.captured_queries if "django_session" not in query["sql"]]
    figures = [query for query in figures if 'FROM "auth_user"' not in query["sql"]]
    return {"default": len(figures), "read": len(read.captured_queries)}


def test_queries_are_bounded_and_do_not_grow_with_the_data(staff, traffic, django_assert_max_num_queries):
    before = queries_per_alias(staff, PANELS)
    alice = traffic["customer"]
    for _ in range(10):
        completed_order(alice, "MS")
        out_of_stock_order(alice, "MS")
    failed_cancellation()
    wiring.catch_up()

    after = queries_per_alias(staff, PANELS)

    assert after == before
    assert before["default"] <= MAX_WRITE_QUERIES
    assert before["read"] <= MAX_READ_QUERIES
    completed_order(alice, "MS")  # not projected: every projector now lags
    with (
        django_assert_max_num_queries(MAX_WRITE_QUERIES + 2),  # + session and user
        django_assert_max_num_queries(MAX_READ_QUERIES, connection=connections["read"]),
    ):
        staff.get(DASHBOARD)
    assert queries_per_alias(staff, PANELS) == {"default": MAX_WRITE_QUERIES, "read": MAX_READ_QUERIES}


def test_an_unknown_window_falls_back_to_the_last_quarter_of_an_hour(staff):
    html = staff.get(f"{DASHBOARD}?window=forever").content.decode()

    assert 'aria-current="true">15 minutes</a>' in html
    assert "Nothing to show in this window yet." in html


def test_throughput_is_per_minute_by_saga_type(staff, traffic):
    html = staff.get(PANELS).content.decode()

    chart = html[html.index("Sagas started per minute") : html.index("Saga latency percentiles")]
    assert re.search(r">place_order <strong>6</strong>", chart)
    assert re.search(r">cancel_order <strong>1</strong>", chart)
    per_minute = re.findall(r"· place_order: (\d+)</title>", chart)
    assert sum(int(count) for count in per_minute) == 6


def test_every_order_links_to_its_saga_timeline(staff, traffic):
    order = Order.objects.get(saga_id=traffic["sagas"]["completed"][0])
    timeline = reverse("admin:sagas_saga_change", args=[order.saga_id])

    for page in (
        reverse("admin:orders_order_change", args=[order.pk]),
        reverse("admin:orders_order_changelist"),
        reverse("admin:readmodels_ordersummary_change", args=[order.pk]),
        reverse("admin:readmodels_ordersummary_changelist"),
    ):
        assert f'href="{timeline}"' in staff.get(page).content.decode(), page
    every_saga = re.search(
        r'href="([^"]+)">place, cancel and dispatch sagas',
        staff.get(reverse("admin:orders_order_change", args=[order.pk])).content.decode(),
    )
    assert listed_sagas(staff, unescape(every_saga.group(1))) == {order.saga_id}
    assert "saga-timeline" in staff.get(timeline).content.decode()
