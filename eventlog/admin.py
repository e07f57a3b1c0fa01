from django.contrib import admin

from .models import Event


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    """The log is append-only: the admin shows it and never changes it."""

    list_display = (
        "position",
        "type",
        "aggregate_type",
        "aggregate_id",
        "correlation_id",
        "causation_id",
        "occurred_at",
    )
    list_filter = ("type", "aggregate_type", ("occurred_at", admin.DateFieldListFilter))
    # An order's id finds its own events and those of its reservation, payment and shipment;
    # a saga's id finds the events its steps caused.
    search_fields = ("=aggregate_id", "type", "^causation_id")
    date_hierarchy = "occurred_at"
    ordering = ("-position",)
    list_per_page = 50
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
