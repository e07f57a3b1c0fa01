import uuid

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q
from django.utils import timezone


class Direction(models.TextChoices):
    FORWARD = "FORWARD"
    COMPENSATION = "COMPENSATION"


class Saga(models.Model):
    """One run of a saga definition, persisted so it survives any process crash.

    ``deadline_at`` is when the step in flight counts as lost; the sweeper looks only at
    running sagas past it, through the (state, deadline_at) index.
    """

    class State(models.TextChoices):
        RUNNING = "RUNNING"
        COMPLETED = "COMPLETED"
        COMPENSATING = "COMPENSATING"
        COMPENSATED = "COMPENSATED"
        FAILED = "FAILED"

    ACTIVE_STATES = (State.RUNNING, State.COMPENSATING)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    type = models.CharField(max_length=50)
    state = models.CharField(max_length=20, choices=State.choices, default=State.RUNNING)
    direction = models.CharField(max_length=20, choices=Direction.choices, default=Direction.FORWARD)
    subject_id = models.UUIDField(null=True, blank=True, db_index=True, help_text="What the saga works for.")
    current_step = models.CharField(max_length=50, blank=True)
    data = models.JSONField(encoder=DjangoJSONEncoder, default=dict)
    compensation_plan = models.JSONField(
        default=list, blank=True, help_text="Compensations to run, newest step first."
    )
    failure_code = models.CharField(max_length=50, blank=True)
    failure_detail = models.TextField(blank=True)
    deadline_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["state", "deadline_at"], name="saga_overdue_idx"),
            models.Index(fields=["type", "state"], name="saga_type_state_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.id} ({self.state})"

    @property
    def is_active(self) -> bool:
        return self.state in self.ACTIVE_STATES


class SagaStep(models.Model):
    """A forward step or a compensation of one saga: its attempts, outcome and result.

    ``history`` keeps one entry per attempt (sent, outcome, error, times) for the timeline.
    """

    class Status(models.TextChoices):
        RUNNING = "RUNNING"
        SUCCEEDED = "SUCCEEDED"
        FAILED = "FAILED"

    saga = models.ForeignKey(Saga, on_delete=models.CASCADE, related_name="steps")
    name = models.CharField(max_length=50)
    direction = models.CharField(max_length=20, choices=Direction.choices, default=Direction.FORWARD)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.RUNNING)
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    result = models.JSONField(encoder=DjangoJSONEncoder, default=dict)
    history = models.JSONField(encoder=DjangoJSONEncoder, default=list)
    started_at = models.DateTimeField(default=timezone.now)
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


class StepReceipt(models.Model):
    """A participant's record that it carried out a saga command, and what it answered.

    Written in the participant's own transaction with its state change; the unique key makes a
    redelivered command find the earlier answer instead of acting twice.
    """

    saga_id = models.UUIDField()
    step = models.CharField(max_length=50)
    direction = models.CharField(max_length=20, choices=Direction.choices)
    task = models.CharField(max_length=100)
    succeeded = models.BooleanField()
    result = models.JSONField(encoder=DjangoJSONEncoder, default=dict)
    error_code = models.CharField(max_length=50, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["saga_id", "step", "direction"], name="step_receipt_once"),
        ]

    def __str__(self) -> str:
        return f"{self.task} for saga {self.saga_id}"


class Failpoint(models.Model):
    """A fault an operator or a test switches on to watch the sagas cope (chaos testing).

    Checked only when ``SAGA_FAILPOINTS_ENABLED`` is true, so production pays nothing for it.
    """

    class Action(models.TextChoices):
        FAIL = "FAIL", "Fail the command with a transient error"
        DROP = "DROP", "Drop the message instead of sending it"
        DUPLICATE = "DUPLICATE", "Send the message twice"
        LATE_COPY = "LATE_COPY", "Send the message, and a copy of it a few seconds later"
        SHUFFLE = "SHUFFLE", "Delay the message by a random fraction of a second"
        CRASH = "CRASH", "Kill the sending process after its commit, before it sends"

    task = models.CharField(max_length=100, help_text="Celery task name, e.g. payments.refund_payment")
    action = models.CharField(max_length=20, choices=Action.choices)
    remaining = models.PositiveIntegerField(
        null=True, blank=True, help_text="How many more times it fires; empty means until removed."
    )
    fired = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["task", "action"], name="failpoint_once_per_task_action"),
            models.CheckConstraint(
                condition=Q(remaining__gte=0) | Q(remaining__isnull=True), name="failpoint_remaining"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.task}"
