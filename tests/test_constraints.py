"""The database itself refuses impossible states; Python validation is only the first line."""

import uuid
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.db.models import F

from inventory.factories import ProductFactory
from inventory.models import Product, StockMovement
from orders.models import Order, OrderLine
from payments.factories import CustomerFactory
from payments.models import Charge, Customer, Refund
from shipping.models import Shipment

pytestmark = pytest.mark.django_db


def refused(make_change) -> bool:
    try:
        with transaction.atomic():
            make_change()
    except IntegrityError:
        return True
    return False


def test_stock_never_goes_negative_nor_reserves_more_than_on_hand():
    product = ProductFactory(on_hand=2, reserved=1)
    rows = Product.objects.filter(pk=product.pk)

    assert refused(lambda: rows.update(on_hand=F("on_hand") - 3))
    assert refused(lambda: rows.update(reserved=F("reserved") - 2))
    assert refused(lambda: rows.update(reserved=3))
    assert refused(lambda: rows.update(price=Decimal("-0.01")))
    assert not refused(lambda: rows.update(reserved=2))


def test_a_product_costs_something():
    rows = Product.objects.filter(pk=ProductFactory().pk)

    assert refused(lambda: rows.update(price=Decimal("0.00")))
    assert not refused(lambda: rows.update(price=Decimal("0.01")))


def test_sku_is_unique():
    ProductFactory(sku="KB-1")

    assert refused(lambda: ProductFactory(sku="KB-1"))


def test_credit_stays_between_zero_and_the_limit():
    customer = CustomerFactory(credit_limit=Decimal("100.00"))
    rows = Customer.objects.filter(pk=customer.pk)

    assert refused(lambda: rows.update(credit_available=F("credit_available") - Decimal("100.01")))
    assert refused(lambda: rows.update(credit_available=Decimal("100.01")))
    assert refused(lambda: rows.update(credit_limit=Decimal("-1")))
    assert not refused(lambda: rows.update(credit_available=Decimal("0.00")))


def test_a_saga_step_charges_and_refunds_at_most_once():
    customer = CustomerFactory()
    saga_id, order_id = uuid.uuid4(), uuid.uuid4()

    def charge():
        return Charge.objects.create(
            customer=customer, order_id=order_id, saga_id=saga_id, step="charge_payment", amount=Decimal("5")
        )

    first = charge()
    assert refused(charge)
    Refund.objects.create(charge=first, saga_id=saga_id, step="refund_payment", amount=Decimal("5"))
    assert refused(
        lambda: Refund.objects.create(
            charge=first, saga_id=uuid.uuid4(), step="refund_payment", amount=Decimal("5")
        )
    )
    assert refused(
        lambda: Charge.objects.create(
            customer=customer,
            order_id=order_id,
            saga_id=uuid.uuid4(),
            step="charge_payment",
            amount=Decimal("0"),
        )
    )


def test_a_saga_step_moves_a_products_stock_at_most_once():
    product = ProductFactory()
    saga_id = uuid.uuid4()

    def reserve():
        return StockMovement.objects.create(
            product=product, kind="RESERVED", quantity=1, saga_id=saga_id, step="reserve"
        )

    reserve()
    assert refused(reserve)
    assert not refused(lambda: StockMovement.objects.create(product=product, kind="RESTOCKED", quantity=1))
    assert not refused(lambda: StockMovement.objects.create(product=product, kind="RESTOCKED", quantity=1))
    assert refused(lambda: StockMovement.objects.create(product=product, kind="RESTOCKED", quantity=0))


def test_order_lines_have_positive_quantities_and_one_line_per_sku():
    order = Order.objects.create(
        customer_id=uuid.uuid4(),
        total=Decimal("10"),
        ship_to_name="A",
        ship_to_line1="1 Road",
        ship_to_city="Paris",
        ship_to_postal_code="75001",
        ship_to_country="FR",
    )
    OrderLine.objects.create(order=order, sku="A", name="A", quantity=1, unit_price=Decimal("10"))

    assert refused(lambda: OrderLine.objects.create(order=order, sku="B", name="B", quantity=0, unit_price=1))
    assert refused(lambda: OrderLine.objects.create(order=order, sku="A", name="A", quantity=1, unit_price=1))
    assert refused(lambda: Order.objects.filter(pk=order.pk).update(total=Decimal("-1")))


def test_one_shipment_per_order_and_unique_tracking_numbers():
    order_id = uuid.uuid4()
    address = {
        "recipient_name": "A",
        "line1": "1 Road",
        "city": "Paris",
        "postal_code": "75001",
        "country": "FR",
    }
    Shipment.objects.create(order_id=order_id, saga_id=uuid.uuid4(), tracking_number="T1", **address)

    assert refused(
        lambda: Shipment.objects.create(
            order_id=order_id, saga_id=uuid.uuid4(), tracking_number="T2", **address
        )
    )
    assert refused(
        lambda: Shipment.objects.create(
            order_id=uuid.uuid4(), saga_id=uuid.uuid4(), tracking_number="T1", **address
        )
    )
