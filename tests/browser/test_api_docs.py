"""The API documentation in a real browser: Swagger UI, served with no internet access, places
an order with a customer's token."""

import json
from decimal import Decimal

import pytest
from playwright.sync_api import expect
from rest_framework.authtoken.models import Token

from inventory.services import product_create
from orders.models import Order

from ..readside import register
from ..sagas import order_body

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, databases=["default", "read"])]


def test_swagger_ui_places_an_order_with_a_token(browsing):
    product_create(sku="KB", name="Keyboard", price=Decimal("50.00"), stock=5)
    alice = register("alice")
    token = Token.objects.create(user=alice.user).key
    page = browsing.page

    browsing.open("/api/docs/")
    page.locator("button.authorize").first.click()
    token_auth = page.locator(".auth-container", has_text="tokenAuth")
    token_auth.locator("input").fill(f"Token {token}")
    token_auth.locator("button.authorize").click()
    token_auth.locator("button.btn-done").click()
    operation = page.locator("#operations-orders-orders_place")
    operation.locator(".opblock-summary").first.click()
    operation.get_by_role("button", name="Try it out").click()
    operation.locator("textarea.body-param__text").fill(json.dumps(order_body([("KB", 2)])))
    operation.get_by_role("button", name="Execute").click()

    expect(operation.locator(".live-responses-table tbody .response-col_status")).to_have_text("202")
    browsing.screenshot("swagger-place-order", operation)
    order = Order.objects.get(customer_id=alice.pk)
    expect(operation.locator(".live-responses-table")).to_contain_text(str(order.pk))
    assert order.status == Order.Status.PENDING
    assert order.total == Decimal("100.00")
    assert browsing.problems == []
    assert browsing.elsewhere() == [], "every asset comes from the application"


def test_redoc_shows_the_schema_with_every_asset_from_the_application(browsing):
    page = browsing.page

    browsing.open("/api/redoc/")

    expect(page.get_by_role("heading", name="Orders: SAGA + CQRS reference API")).to_be_visible()
    expect(page.get_by_role("link", name="API docs by Redocly")).to_be_visible()
    # Redoc drops its logo when the image fails to load; either way, wait for it to settle.
    page.wait_for_function(
        "() => { const logo = document.querySelector(\"img[alt='redocly logo']\"); return !logo || logo.complete; }"
    )
    assert browsing.elsewhere() == [], "every asset comes from the application"
    assert browsing.problems == []
