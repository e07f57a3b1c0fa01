"""Who the customers are, as other contexts may ask: found through ``settings.ORDERS_CUSTOMERS``
rather than an import, so contexts stay independent."""

from uuid import UUID

from .models import Customer


def customer_id_for_user(user_id: int) -> UUID | None:
    return Customer.objects.filter(user_id=user_id).values_list("pk", flat=True).first()


def customer_exists(customer_id: UUID) -> bool:
    return Customer.objects.filter(pk=customer_id).exists()
