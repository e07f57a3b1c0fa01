from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from config.admin import ReadOnlyModelAdmin, saga_link

from .models import IdempotencyRecord, Order, OrderLine


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    fields = ("sku", "name", "quantity", "unit_price", "line_total")
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False


@admin.register(Order)
class OrderAdmin(ReadOnlyModelAdmin):
    list_display = (
        "id",
        "status",
        "customer_id",
        "total",
        "failure_reason",
        "saga_timeline",
        "created_at",
        "updated_at",
    )
    list_filter = ("status", "ship_to_country", ("created_at", admin.DateFieldListFilter))
    search_fields = ("=id", "=customer_id", "=saga_id", "failure_reason")
    date_hierarchy = "created_at"
    readonly_fields = ("saga_timeline", "all_sagas")
    inlines = [OrderLineInline]

    @admin.display(description="saga timeline")
    def saga_timeline(self, order: Order):
        """The saga that last acted on the order: placing it, or a cancellation or dispatch."""
        return saga_link(self.admin_site, order.saga_id)

    @admin.display(description="every saga of this order")
    def all_sagas(self, order: Order):
        url = reverse("admin:sagas_saga_changelist", current_app=self.admin_site.name)
        return format_html('<a href="{}?q={}">place, cancel and dispatch sagas</a>', url, order.pk)


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(ReadOnlyModelAdmin):
    list_display = ("user", "key", "response_status", "created_at")
    search_fields = ("key",)
    list_select_related = ("user",)
    date_hierarchy = "created_at"
