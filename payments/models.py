import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q


class Customer(models.Model):
    """A buyer and the credit the shop extends to it. ``credit_available`` is the limit minus the
    charges not refunded; the database refuses to let it drop below zero."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="customer")
    name = models.CharField(max_length=200)
    email = models.EmailField()
    credit_limit = models.DecimalField(max_digits=12, decimal_places=2)
    credit_available = models.DecimalField(max_digits=12, decimal_places=2)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(credit_limit__gte=0), name="customer_credit_limit_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(credit_available__gte=0), name="customer_credit_available_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(credit_available__lte=F("credit_limit")),
                name="customer_credit_available_within_limit",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Charge(models.Model):
    """Money taken from a customer's credit for one order: one charge per order and per saga step."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="charges")
    order_id = models.UUIDField(unique=True)
    saga_id = models.UUIDField()
    step = models.CharField(max_length=50)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="charge_amount_positive"),
            models.UniqueConstraint(fields=["saga_id", "step"], name="charge_once_per_saga_step"),
        ]

    def __str__(self) -> str:
        return f"{self.amount} from {self.customer} for order {self.order_id}"


class Refund(models.Model):
    """Money given back for a charge; at most one refund per charge."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    charge = models.OneToOneField(Charge, on_delete=models.PROTECT, related_name="refund")
    saga_id = models.UUIDField()
    step = models.CharField(max_length=50)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_positive"),
            models.UniqueConstraint(fields=["saga_id", "step"], name="refund_once_per_saga_step"),
        ]

    def __str__(self) -> str:
        return f"refund of {self.amount} for order {self.charge.order_id}"
