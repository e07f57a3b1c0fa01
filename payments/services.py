from dataclasses import dataclass
from decimal import Decimal
from uuid import UUID

from django.contrib.auth import get_user_model
from django.db import transaction

from eventlog.services import event_append

from . import events
from .models import Charge, Customer, Refund


@dataclass(frozen=True)
class ChargeOutcome:
    charged: bool
    credit_available: Decimal


@transaction.atomic
def customer_register(
    *, username: str, password: str, email: str, name: str, credit_limit: Decimal
) -> Customer:
    """Create the login and the customer behind it; the full limit starts available."""
    user = get_user_model().objects.create_user(username=username, password=password, email=email)
    customer = Customer.objects.create(
        user=user, name=name, email=email, credit_limit=credit_limit, credit_available=credit_limit
    )
    event_append(
        events.CustomerRegistered(
            customer_id=customer.id,
            user_id=user.pk,
            username=username,
            name=name,
            email=email,
            credit_limit=credit_limit,
        ),
        aggregate_id=customer.id,
    )
    return customer


@transaction.atomic(savepoint=False)
def payment_charge(
    *, saga_id: UUID, step: str, order_id: UUID, customer_id: UUID, amount: Decimal
) -> ChargeOutcome:
    """Take ``amount`` from the customer's available credit, or decline if it is not there.

    The customer row is locked, so two orders of one customer cannot both spend the last credit;
    the check constraint on ``credit_available`` is the backstop.
    """
    customer = Customer.objects.select_for_update().get(pk=customer_id)
    if Charge.objects.filter(order_id=order_id).exists():
        return ChargeOutcome(charged=True, credit_available=customer.credit_available)
    if customer.credit_available < amount:
        _append_money_event(events.PaymentDeclined, order_id, customer, amount, saga_id)
        return ChargeOutcome(charged=False, credit_available=customer.credit_available)
    customer.credit_available -= amount
    customer.save(update_fields=["credit_available"])
    Charge.objects.create(customer=customer, order_id=order_id, saga_id=saga_id, step=step, amount=amount)
    _append_money_event(events.PaymentCharged, order_id, customer, amount, saga_id)
    return ChargeOutcome(charged=True, credit_available=customer.credit_available)


@transaction.atomic(savepoint=False)
def payment_refund_if_charged(*, saga_id: UUID, step: str, order_id: UUID) -> bool:
    """Give back the order's charge. No charge, or one already refunded, is success with
    nothing to do, so the compensation can run any number of times."""
    charge = Charge.objects.filter(order_id=order_id, refund__isnull=True).first()
    if charge is None:
        return False
    customer = Customer.objects.select_for_update().get(pk=charge.customer_id)
    if Refund.objects.filter(charge=charge).exists():
        return False
    customer.credit_available += charge.amount
    customer.save(update_fields=["credit_available"])
    Refund.objects.create(charge=charge, saga_id=saga_id, step=step, amount=charge.amount)
    _append_money_event(events.PaymentRefunded, order_id, customer, charge.amount, saga_id)
    return True


def _append_money_event(
    event_type: type[events.PaymentEvent], order_id: UUID, customer: Customer, amount: Decimal, saga_id: UUID
) -> None:
    """Payment events carry the credit left after them, so a projection sets it, never adds."""
    event = event_type(
        order_id=order_id, customer_id=customer.pk, amount=amount, credit_available=customer.credit_available
    )
    event_append(event, aggregate_id=order_id, correlation_id=order_id, saga_id=saga_id)
