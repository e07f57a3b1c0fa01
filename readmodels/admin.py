from django.contrib import admin

from config.admin import ReadOnlyModelAdmin, saga_link

from . import projection
from .models import (
    CustomerSummary,
    DailySales,
    OrderSummary,
    OrderTimelineEntry,
    ProductAvailability,
    ProjectionRunner,
    ProjectorCheckpoint,
)


@admin.register(ProjectionRunner)
class ProjectionRunnerAdmin(ReadOnlyModelAdmin):
    """The projection runner's pulse: runs started, the last one's times and its last beat."""

    list_display = (
        "__str__",
        "runs_started",
        "last_run_started_at",
        "last_run_finished_at",
        "last_run_applied",
        "beat_at",
    )


@admin.register(ProjectorCheckpoint)
class ProjectorCheckpointAdmin(ReadOnlyModelAdmin):
    """Projection lag per projector: how many events and seconds behind the log it is."""

    list_display = (
        "projector",
        "position",
        "events_behind",
        "seconds_behind",
        "unknown_events",
        "rescued_events",
        "failures",
        "last_error_position",
        "last_error_at",
        "updated_at",
    )
    readonly_fields = ("last_error",)

    def get_queryset(self, request):
        self._lag = {
            lag.projector: lag
            for lag in projection.lag(list(ProjectorCheckpoint.objects.values_list("projector", flat=True)))
        }
        return super().get_queryset(request)

    @admin.display(description="events behind")
    def events_behind(self, checkpoint):
        return self._lag[checkpoint.projector].events_behind

    @admin.display(description="seconds behind")
    def seconds_behind(self, checkpoint):
        return self._lag[checkpoint.projector].seconds_behind


@admin.register(OrderSummary)
class OrderSummaryAdmin(ReadOnlyModelAdmin):
    list_display = (
        "order_id",
        "status",
        "customer_id",
        "total",
        "payment_status",
        "shipment_status",
        "saga_state",
        "saga_timeline",
        "created_at",
    )
    list_filter = ("status", "payment_status", "shipment_status", "saga_state")
    search_fields = ("=order_id", "=customer_id", "=tracking_number")
    date_hierarchy = "created_at"
    readonly_fields = ("saga_timeline",)

    @admin.display(description="saga timeline")
    def saga_timeline(self, summary: OrderSummary):
        """The saga admin's page of the order's latest saga, drawn as a timeline of its steps."""
        return saga_link(self.admin_site, summary.saga_id)


@admin.register(OrderTimelineEntry)
class OrderTimelineEntryAdmin(ReadOnlyModelAdmin):
    list_display = ("position", "order_id", "type", "occurred_at")
    list_filter = ("type",)
    search_fields = ("=order_id",)


@admin.register(ProductAvailability)
class ProductAvailabilityAdmin(ReadOnlyModelAdmin):
    list_display = ("sku", "name", "price", "on_hand", "reserved", "available", "updated_at")
    search_fields = ("sku", "name")


@admin.register(CustomerSummary)
class CustomerSummaryAdmin(ReadOnlyModelAdmin):
    list_display = ("name", "customer_id", "orders_count", "total_spent", "credit_available", "credit_limit")
    search_fields = ("name", "=customer_id")


@admin.register(DailySales)
class DailySalesAdmin(ReadOnlyModelAdmin):
    list_display = (
        "day",
        "orders_placed",
        "orders_confirmed",
        "orders_rejected",
        "orders_cancelled",
        "orders_shipped",
        "revenue",
    )
    date_hierarchy = "day"
