import uuid

from django.db import models


class Shipment(models.Model):
    """The parcel for one order: scheduled by the place-order saga, cancelled by a compensation or
    the cancel-order saga, dispatched by an operator."""

    class Status(models.TextChoices):
        SCHEDULED = "SCHEDULED"
        CANCELLED = "CANCELLED"
        DISPATCHED = "DISPATCHED"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    order_id = models.UUIDField(unique=True)
    saga_id = models.UUIDField(db_index=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.SCHEDULED)
    tracking_number = models.CharField(max_length=40, unique=True)
    recipient_name = models.CharField(max_length=200)
    line1 = models.CharField(max_length=200)
    city = models.CharField(max_length=100)
    postal_code = models.CharField(max_length=20)
    country = models.CharField(max_length=2)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "created_at"])]

    def __str__(self) -> str:
        return f"{self.tracking_number} ({self.status})"
