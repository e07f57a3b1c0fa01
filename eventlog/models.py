from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone


class Event(models.Model):
    """A domain event, appended in the same transaction as the state change it records.

    The log is the audit trail and the only source the read models are built from.
    """

    position = models.BigAutoField(primary_key=True)
    aggregate_type = models.CharField(max_length=50)
    aggregate_id = models.CharField(max_length=100)
    type = models.CharField(max_length=100)
    data = models.JSONField(encoder=DjangoJSONEncoder, default=dict)
    saga_id = models.UUIDField(null=True, blank=True)
    # What the change was part of (an order) and what caused it (a saga step's attempt): metadata
    # that lets a reader follow an order across the aggregates its saga changed.
    correlation_id = models.UUIDField(null=True, blank=True)
    causation_id = models.CharField(max_length=200, blank=True, default="")
    # Taken while appends are serialised, so times grow with positions (commit order).
    occurred_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["position"]
        indexes = [
            models.Index(fields=["aggregate_type", "aggregate_id", "position"]),
            models.Index(fields=["saga_id"]),
            models.Index(fields=["correlation_id", "position"]),
            models.Index(fields=["type"]),
        ]

    def __str__(self) -> str:
        return f"#{self.position} {self.type} {self.aggregate_type}:{self.aggregate_id}"
