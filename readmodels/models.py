"""Read models: denormalised tables kept by projectors, stored in the read database only.

Every row is derived from the event log and can be rebuilt from it (``rebuild_readmodels``);
nothing else writes here.
"""

from django.db import models


class ProjectorCheckpoint(models.Model):
    """How far a projector has read the log. Written in the transaction of its rows, so an event
    takes effect exactly once; the error fields show where a failing projector is stuck."""

    projector = models.CharField(max_length=100, primary_key=True)
    position = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)
    unknown_events = models.PositiveBigIntegerField(
        default=0, help_text="Events of types no projector knows."
    )
    rescued_events = models.PositiveBigIntegerField(
        default=0,
        help_text="Events the periodic catch-up applied because live projection had not: each is "
        "a crash, a failing projector or a stall that the safety net covered.",
    )
    failures = models.PositiveBigIntegerField(default=0)
    last_error = models.TextField(blank=True)
    last_error_position = models.BigIntegerField(null=True, blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.projector} @ {self.position}"


class ProjectionRunner(models.Model):
    """The projection runner's pulse, one row: how many runs have started, and the last one.

    A process that commits events reads it to decide whether to ask for a run: not while one is
    running (it looks for new events once more after it ends), nor while one is asked for and
    has not started; the first process to set ``requested`` sends the one message.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    runs_started = models.PositiveBigIntegerField(default=0)
    running = models.BooleanField(
        default=False, help_text="A run is draining the log; it looks again after it ends."
    )
    requested = models.BooleanField(
        default=False, help_text="A run has been asked for and has not started yet."
    )
    last_run_started_at = models.DateTimeField(null=True, blank=True)
    last_run_finished_at = models.DateTimeField(null=True, blank=True)
    last_run_applied = models.PositiveIntegerField(default=0)
    beat_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="The pulse's last sign of life: a run asked for, starting, ending or beating while it lingers.",
    )

    def __str__(self) -> str:
        return f"projection runner ({self.runs_started} runs)"


class OrderSummary(models.Model):
    """Everything ``GET /api/orders/{id}/`` answers, one row per order."""

    order_id = models.UUIDField(primary_key=True)
    customer_id = models.UUIDField(db_index=True)
    status = models.CharField(max_length=20, db_index=True)
    items = models.JSONField(default=list)
    total = models.DecimalField(max_digits=12, decimal_places=2)
    payment_status = models.CharField(max_length=20, blank=True)
    shipment_status = models.CharField(max_length=20, blank=True)
    tracking_number = models.CharField(max_length=40, blank=True)
    failure_reason = models.CharField(max_length=500, blank=True)
    saga_id = models.UUIDField(null=True, blank=True)
    saga_state = models.CharField(max_length=20, blank=True)
    saga_current_step = models.CharField(max_length=50, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    version = models.PositiveIntegerField(default=1)
    last_position = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["-created_at", "-order_id"]
        indexes = [
            models.Index(fields=["-created_at", "-order_id"], name="order_summary_newest_idx"),
            models.Index(fields=["customer_id", "-created_at"], name="order_summary_customer_idx"),
        ]
        verbose_name_plural = "order summaries"

    def __str__(self) -> str:
        return f"order {self.order_id} ({self.status})"


class OrderTimelineEntry(models.Model):
    """One domain event of an order, as ``GET /api/orders/{id}/timeline/`` lists it."""

    position = models.BigIntegerField(primary_key=True)
    order_id = models.UUIDField()
    type = models.CharField(max_length=100)
    occurred_at = models.DateTimeField()
    data = models.JSONField(default=dict)

    class Meta:
        ordering = ["position"]
        indexes = [models.Index(fields=["order_id", "position"], name="order_timeline_idx")]
        verbose_name_plural = "order timeline entries"

    def __str__(self) -> str:
        return f"#{self.position} {self.type}"


class ProductAvailability(models.Model):
    """What ``GET /api/products/`` answers: price and stock as the event log tells it."""

    sku = models.CharField(max_length=64, primary_key=True)
    name = models.CharField(max_length=200)
    price = models.DecimalField(max_digits=12, decimal_places=2)
    on_hand = models.IntegerField(default=0)
    reserved = models.IntegerField(default=0)
    available = models.IntegerField(default=0)
    updated_at = models.DateTimeField()
    last_position = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["sku"]
        verbose_name_plural = "product availability"

    def __str__(self) -> str:
        return self.sku


class CustomerSummary(models.Model):
    """What ``GET /api/customers/{id}/summary/`` answers. ``user_id`` lets the query side know
    which customer a logged-in user is without asking the write side."""

    customer_id = models.UUIDField(primary_key=True)
    user_id = models.IntegerField(unique=True)
    name = models.CharField(max_length=200)
    credit_limit = models.DecimalField(max_digits=12, decimal_places=2)
    credit_available = models.DecimalField(max_digits=12, decimal_places=2)
    orders_count = models.PositiveIntegerField(default=0)
    orders_by_status = models.JSONField(default=dict)
    total_spent = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    last_position = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "customer summaries"

    def __str__(self) -> str:
        return self.name


class DailySales(models.Model):
    """One row per day (UTC) for the dashboard. ``revenue`` is the total of orders confirmed
    that day less the total of orders cancelled that day."""

    day = models.DateField(primary_key=True)
    orders_placed = models.PositiveIntegerField(default=0)
    orders_confirmed = models.PositiveIntegerField(default=0)
    orders_rejected = models.PositiveIntegerField(default=0)
    rejected_by_reason = models.JSONField(default=dict)
    orders_cancelled = models.PositiveIntegerField(default=0)
    orders_shipped = models.PositiveIntegerField(default=0)
    revenue = models.DecimalField(max_digits=14, decimal_places=2, default=0)

    class Meta:
        ordering = ["-day"]
        verbose_name_plural = "daily sales"

    def __str__(self) -> str:
        return str(self.day)
