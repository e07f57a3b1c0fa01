"""An operator at work in a real browser: the dashboard filled by ``simulate`` and refreshing
in place, an order's saga timeline, and a FAILED saga found on the dashboard and retried.

Sagas run on a real worker; the admin is served by the live server on the same databases."""

import io
from collections import Counter
from decimal import Decimal
from random import Random

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from inventory.services import product_create
from ops.simulation import DEFAULT_MIX, parse_mix, plan
from orders.models import Order
from payments.factories import StaffUserFactory
from readmodels.models import OrderSummary
from sagas.models import Failpoint, Saga

from ..conftest import token_client
from ..processes import wait_for
from ..readside import register
from ..sagas import order_body, wait_for_order, wait_for_saga

pytestmark = [
    pytest.mark.browser,
    pytest.mark.system,
    pytest.mark.django_db(transaction=True, databases=["default", "read"]),
]

PASSWORD = "correct-horse-battery"  # StaffUserFactory's
SIMULATED_ORDERS = 16
CHART_CAPTIONS = (
    "Saga outcomes",
    "Sagas started per minute",
    "Saga latency percentiles",
    "Projection lag per projector",
    "Stock of the busiest products",
    "Orders per day",
)


@pytest.fixture
def operator():
    return StaffUserFactory(is_superuser=True)


@pytest.fixture
def shop():
    product_create(sku="KB", name="Keyboard", price=Decimal("50.00"), stock=20)
    return register("alice", limit="1000.00")


def tile(page, label: str):
    return page.locator(".dashboard-tile", has=page.locator(".tile-label", has_text=label)).first


def test_the_dashboard_draws_simulated_traffic_and_refreshes_in_place(
    browsing, saga_processes, operator, settings
):
    settings.DASHBOARD_REFRESH_SECONDS = 1
    report = io.StringIO()
    call_command(
        "simulate",
        orders=SIMULATED_ORDERS,
        rate=0,
        seed=7,
        base_url=browsing.base_url,
        timeout=90,
        stdout=report,
    )
    assert "Every order settled." in report.getvalue()
    planned = Counter(
        scenario.status for scenario in plan(SIMULATED_ORDERS, parse_mix(DEFAULT_MIX), Random(7))
    )
    assert Counter(Order.objects.values_list("status", flat=True)) == planned
    page = browsing.page

    browsing.log_in(operator.username, PASSWORD)
    page.get_by_role("link", name="Operations dashboard").click()

    page.wait_for_url("**/admin/dashboard/")
    expect(page.locator("figure.chart figcaption")).to_have_text(list(CHART_CAPTIONS))
    for chart in page.locator("figure.chart svg").all():
        box = chart.bounding_box()
        assert box["width"] > 300
        assert box["height"] > 50
    outcomes = page.locator("figure.chart").first
    assert outcomes.locator("rect").count() > 0
    for reason in ("OUT_OF_STOCK", "PAYMENT_DECLINED", "UNDELIVERABLE"):
        expect(outcomes.locator(".chart-legend")).to_contain_text(f"compensated · {reason}")
    assert page.locator("figure.chart").nth(4).locator("rect").count() > 0, "stock bars"
    page.evaluate("window.sameDocument = true")
    page.wait_for_function("Number(document.getElementById('dashboard').dataset.refreshes) >= 2")
    assert page.evaluate("window.sameDocument") is True, "refreshed without reloading the page"
    expect(page.locator(".dashboard-status")).to_contain_text("Live: refreshed at")
    browsing.screenshot("dashboard")

    completed = int(tile(page, "completed in").locator(".tile-value").inner_text())
    tile(page, "completed in").click()
    page.wait_for_url("**/admin/sagas/saga/?*")
    expect(page.locator("#changelist .paginator")).to_contain_text(f"{completed} saga")
    assert completed == Saga.objects.filter(state=Saga.State.COMPLETED).count()
    assert browsing.problems == []
    assert browsing.elsewhere() == [], "charts and scripts come from the application"


@pytest.mark.failpoints
def test_an_order_links_to_its_saga_timeline(browsing, saga_processes, operator, shop):
    # Two lost attempts at charging, then an address nobody delivers to: retries, a failure and
    # three compensations on one timeline.
    Failpoint.objects.create(task="payments.charge_payment", action=Failpoint.Action.FAIL, remaining=2)
    body = (
        token_client(shop.user)
        .post("/api/orders/", order_body([("KB", 1)], country="XX"), format="json")
        .json()
    )
    wait_for_saga(body["saga_id"], processes=saga_processes)
    page = browsing.page
    browsing.log_in(operator.username, PASSWORD)

    browsing.open(f"/admin/orders/order/{body['order_id']}/change/")
    page.get_by_role("link", name=body["saga_id"]).click()

    page.wait_for_url(f"**/admin/sagas/saga/{body['saga_id']}/change/")
    bars = page.locator(".saga-timeline .bar")
    expect(bars).to_have_count(7)
    expect(page.locator(".saga-timeline .bar.COMPENSATION")).to_have_count(3)
    expect(page.locator(".saga-timeline .bar.FAILED")).to_have_count(1)
    assert all(bar.bounding_box()["width"] > 0 for bar in bars.all())
    charge = page.locator(".saga-timeline tr", has=page.locator("th", has_text="charge_payment")).first
    expect(charge.locator("td").nth(2)).to_have_text("3")  # attempts
    browsing.screenshot("saga-timeline")

    wait_for(
        lambda: OrderSummary.objects.filter(order_id=body["order_id"], status="REJECTED").exists(),
        timeout=10,
        what="the order summary to show the rejection",
    )
    browsing.open(f"/admin/readmodels/ordersummary/{body['order_id']}/change/")
    page.get_by_role("link", name=body["saga_id"]).click()
    page.wait_for_url(f"**/admin/sagas/saga/{body['saga_id']}/change/")
    assert browsing.problems == []


@pytest.mark.failpoints
def test_an_operator_retries_a_failed_saga_found_on_the_dashboard(browsing, saga_processes, operator, shop):
    client = token_client(shop.user)
    order_id = client.post("/api/orders/", order_body([("KB", 1)]), format="json").json()["order_id"]
    wait_for_order(order_id, Order.Status.CONFIRMED, processes=saga_processes)
    carrier_down = Failpoint.objects.create(task="shipping.cancel_shipment", action=Failpoint.Action.FAIL)
    cancel_saga = client.post(f"/api/orders/{order_id}/cancel/").json()["saga_id"]
    wait_for_saga(cancel_saga, states=[Saga.State.FAILED], processes=saga_processes)
    carrier_down.delete()
    page = browsing.page
    browsing.log_in(operator.username, PASSWORD)

    browsing.open("/admin/dashboard/")
    failed = tile(page, "failed")
    expect(failed).to_have_class("dashboard-tile alert")
    expect(failed.locator(".tile-value")).to_have_text("1")
    failed.click()
    page.wait_for_url("**/admin/sagas/saga/?state__exact=FAILED")
    page.locator("input.action-select").check()
    page.select_option("select[name=action]", "retry_failed")
    page.get_by_role("button", name="Go").click()

    expect(page.locator(".messagelist")).to_contain_text("Retried 1 saga.")
    wait_for_saga(cancel_saga, states=[Saga.State.COMPLETED], processes=saga_processes)
    assert Order.objects.get(pk=order_id).status == Order.Status.CANCELLED
    browsing.open("/admin/dashboard/")
    expect(tile(page, "failed").locator(".tile-value")).to_have_text("0")
    assert browsing.problems == []
