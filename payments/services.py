from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction

from eventlog.services import event_append

from . import events
from .models import Customer


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
        aggregate_type=events.AGGREGATE,
        aggregate_id=customer.id,
        type=events.CUSTOMER_REGISTERED,
        data={
            "customer_id": customer.id,
            "username": username,
            "name": name,
            "email": email,
            "credit_limit": credit_limit,
        },
    )
    return customer
