"""Building read-side test data through the write side, the way production fills it."""

from contextlib import contextmanager
from decimal import Decimal

from eventlog.signals import events_committed
from inventory.contracts import StockLine
from inventory.services import product_create, stock_reserve
from orders.services import order_confirm, order_place
from payments.services import customer_register, payment_charge
from readmodels.wiring import wake_the_runner
from shipping.contracts import Address
from shipping.services import shipment_schedule

ADDRESS = {"name": "Ada", "line1": "1 Road", "city": "Leeds", "postal_code": "LS1", "country": "GB"}


def register(username: str, limit: str = "500.00"):
    return customer_register(
        username=username,
        password=f"pw-{username}-123",
        email=f"{username}@example.com",
        name=username.title(),
        credit_limit=Decimal(limit),
    )


def add_product(sku: str, price: str = "10.00", stock: int = 10):
    return product_create(sku=sku, name=f"Product {sku}", price=Decimal(price), stock=stock)


def confirmed_order(customer, sku: str, quantity: int = 1):
    """Place an order and carry out its saga's steps in this process, as the participants would."""
    order = order_place(customer_id=customer.pk, items=[{"sku": sku, "quantity": quantity}], address=ADDRESS)
    stock_reserve(
        saga_id=order.saga_id,
        step="reserve_stock",
        order_id=order.pk,
        lines=[StockLine(sku, quantity)],
    )
    payment_charge(
        saga_id=order.saga_id,
        step="charge_payment",
        order_id=order.pk,
        customer_id=customer.pk,
        amount=order.total,
    )
    shipment_schedule(saga_id=order.saga_id, order_id=order.pk, address=Address(**ADDRESS))
    order_confirm(order_id=order.pk)
    return order


@contextmanager
def projection_paused():
    """Commits announce nothing while inside, as if the process died right after each commit."""
    events_committed.disconnect(dispatch_uid="readmodels.wake_the_runner")
    try:
        yield
    finally:
        events_committed.connect(wake_the_runner, dispatch_uid="readmodels.wake_the_runner")
