"""The saga list at a desktop width: short ids on one line each, the full id in the link and on
hover, and every column in sight without scrolling."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from inventory.services import product_create
from payments.factories import StaffUserFactory
from sagas.models import Saga

from ..readside import confirmed_order, register

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, databases=["default", "read"])]

SHORT_ID = 8  # characters of a UUID shown in a list


def test_the_saga_list_at_1400_pixels_shows_short_ids_and_the_created_column(browsing):
    product_create(sku="KB", name="Keyboard", price=Decimal("50.00"), stock=20)
    alice = register("alice", limit="1000.00")
    orders = [confirmed_order(alice, "KB", 1) for _ in range(3)]
    operator = StaffUserFactory(is_superuser=True)
    page = browsing.page
    browsing.log_in(operator.username, "correct-horse-battery")

    browsing.open("/admin/sagas/saga/")

    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(Saga.objects.count())
    visible_right = page.locator("#changelist .results").bounding_box()
    created = page.locator("#result_list th.column-created").bounding_box()
    assert created["x"] + created["width"] <= visible_right["x"] + visible_right["width"]
    table = page.locator("#result_list").bounding_box()
    assert table["width"] <= visible_right["width"], "every column in sight, no scrolling"
    for order in orders:
        row = rows.filter(has=page.locator(f"a[href*='{order.saga_id}']"))
        saga_link = row.locator("th.field-id a")
        order_cell = row.locator("td.field-subject")
        assert saga_link.inner_text() == str(order.saga_id)[:SHORT_ID]
        assert saga_link.locator("[title]").get_attribute("title") == str(order.saga_id)
        assert order_cell.inner_text() == str(order.pk)[:SHORT_ID]
        assert order_cell.locator("[title]").get_attribute("title") == str(order.pk)
        for shown in (saga_link, order_cell.locator("[title]")):
            assert shown.evaluate("id => id.getClientRects().length") == 1, "on one line"
    assert browsing.problems == []
