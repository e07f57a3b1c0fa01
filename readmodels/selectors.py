"""Queries over the read models. Query views use nothing else: no write-side table."""

from uuid import UUID

from django.db.models import QuerySet

from .models import CustomerSummary, OrderSummary, OrderTimelineEntry, ProductAvailability


def customer_id_for_user(user) -> UUID | None:
    return CustomerSummary.objects.filter(user_id=user.pk).values_list("customer_id", flat=True).first()


def orders_visible_to(user) -> QuerySet[OrderSummary]:
    """Staff see every order; a customer its own; any other user none."""
    orders = OrderSummary.objects.all()
    if user.is_staff:
        return orders
    return orders.filter(customer_id=customer_id_for_user(user))


def customers_visible_to(user) -> QuerySet[CustomerSummary]:
    customers = CustomerSummary.objects.all()
    return customers if user.is_staff else customers.filter(user_id=user.pk)


def order_timeline(order_id: UUID) -> QuerySet[OrderTimelineEntry]:
    return OrderTimelineEntry.objects.filter(order_id=order_id).order_by("position")


def products() -> QuerySet[ProductAvailability]:
    return ProductAvailability.objects.all()
