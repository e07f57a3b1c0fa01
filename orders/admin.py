from django.contrib import admin

from config.admin import ReadOnlyModelAdmin

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
    list_display = ("id", "status", "customer_id", "total", "failure_reason", "created_at", "updated_at")
    list_filter = ("status", "ship_to_country", ("created_at", admin.DateFieldListFilter))
    search_fields = ("=id", "=customer_id", "=saga_id", "failure_reason")
    date_hierarchy = "created_at"
    inlines = [OrderLineInline]


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(ReadOnlyModelAdmin):
    list_display = ("user", "key", "response_status", "created_at")
    search_fields = ("key",)
    list_select_related = ("user",)
    date_hierarchy = "created_at"
