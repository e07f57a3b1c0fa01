"""The dashboard's stock chart stays readable whatever the stock: one product holding a billion
units neither pushes its note out of the chart nor shrinks the other bars to nothing."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from inventory.services import product_create
from payments.factories import StaffUserFactory

from ..readside import confirmed_order, register

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, databases=["default", "read"])]

MIN_BAR_WIDTH = 10  # in the chart's own units; its viewBox is 640 wide

# Per row of bars (by their y), the summed width; and every text's box against the viewBox.
MEASURE = """svg => {
  const bars = {};
  for (const rect of svg.querySelectorAll("rect")) {
    const y = rect.getAttribute("y");
    bars[y] = (bars[y] || 0) + rect.getBBox().width;
  }
  const width = svg.viewBox.baseVal.width;
  const outside = [...svg.querySelectorAll("text")]
    .filter(text => { const box = text.getBBox(); return box.x < 0 || box.x + box.width > width; })
    .map(text => text.textContent);
  return {bars: Object.values(bars), outside};
}"""


def test_a_billion_units_leave_every_bar_visible_and_every_note_inside(browsing):
    alice = register("alice", limit="1000.00")
    for sku, stock in (("BIG", 1_000_000_000), ("KB", 20), ("MS", 5)):
        product_create(sku=sku, name=f"Product {sku}", price=Decimal("10.00"), stock=stock)
        confirmed_order(alice, sku, 1)
    operator = StaffUserFactory(is_superuser=True)
    page = browsing.page
    browsing.log_in(operator.username, "correct-horse-battery")

    browsing.open("/admin/dashboard/")

    chart = page.locator(
        "figure.chart", has=page.locator("figcaption", has_text="Stock of the busiest products")
    )
    expect(chart.locator("rect")).to_have_count(6)  # reserved and available for each product
    measured = chart.locator("svg").evaluate(MEASURE)
    assert len(measured["bars"]) == 3
    assert min(measured["bars"]) >= MIN_BAR_WIDTH, measured
    assert measured["outside"] == []
    expect(chart).to_contain_text("1B free of 1B")
    assert browsing.problems == []
