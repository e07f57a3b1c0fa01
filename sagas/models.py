import uuid

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models


class Saga(models.Model):
    """One run of a saga definition, persisted so it survives any process crash."""

    class State(models.TextChoices):
        RUNNING = "RUNNING"
        COMPLETED = "COMPLETED"
        COMPENSATING = "COMPENSATING"
        COMPENSATED = "COMPENSATED"
        FAILED = "FAILED"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    type = models.CharField(max_length=50)
    state = models.CharField(max_length=20, choices=State.choices, default=State.RUNNING)
    order_id = models.UUIDField(null=True, blank=True, db_index=True)
    current_step = models.CharField(max_length=50, blank=True)
    data = models.JSONField(encoder=DjangoJSONEncoder, default=dict)
    deadline_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["state", "deadline_at"]),
            models.Index(fields=["type", "state"]),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.id} ({self.state})"


class SagaStep(models.Model):
    """A step of a saga, forward or compensating, with its attempts and outcome."""

    class Direction(models.TextChoices):
        FORWARD = "FORWARD"
        COMPENSATION = "COMPENSATION"

    class Status(models.TextChoices):
        PENDING = "PENDING"
        SUCCEEDED = "SUCCEEDED"
        FAILED = "FAILED"

    saga = models.ForeignKey(Saga, on_delete=models.CASCADE, related_name="steps")
    name = models.CharField(max_length=50)
    direction = models.CharField(max_length=20, choices=Direction.choices, default=Direction.FORWARD)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["started_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["saga", "name", "direction"], name="saga_step_once_per_direction"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.direction.lower()} ({self.status})"
