from django.contrib import admin
from django.db.models import F

from config.admin import ReadOnlyModelAdmin

from .models import Product, StockMovement, StockReservation, StockReservationLine


class StockLevelFilter(admin.SimpleListFilter):
    title = "stock level"
    parameter_name = "stock"

    def lookups(self, request, model_admin):
        return [("out", "Nothing available"), ("low", "Fewer than 10 available"), ("ok", "10 or more")]

    def queryset(self, request, queryset):
        available = queryset.annotate(free=F("on_hand") - F("reserved"))
        if self.value() == "out":
            return available.filter(free__lte=0)
        if self.value() == "low":
            return available.filter(free__gt=0, free__lt=10)
        if self.value() == "ok":
            return available.filter(free__gte=10)
        return queryset


@admin.register(Product)
class ProductAdmin(ReadOnlyModelAdmin):
    list_display = ("sku", "name", "price", "on_hand", "reserved", "available", "updated_at")
    list_filter = (StockLevelFilter,)
    search_fields = ("sku", "name")


@admin.register(StockMovement)
class StockMovementAdmin(ReadOnlyModelAdmin):
    list_display = ("created_at", "product", "kind", "quantity", "saga_id", "step")
    list_filter = ("kind", ("created_at", admin.DateFieldListFilter))
    search_fields = ("product__sku",)
    list_select_related = ("product",)
    date_hierarchy = "created_at"


class StockReservationLineInline(admin.TabularInline):
    model = StockReservationLine
    fields = ("product", "quantity")
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("product")


@admin.register(StockReservation)
class StockReservationAdmin(ReadOnlyModelAdmin):
    list_display = ("order_id", "status", "saga_id", "created_at", "updated_at")
    list_filter = ("status",)
    search_fields = ("=order_id",)
    search_help_text = "An exact order id."
    date_hierarchy = "created_at"
    inlines = [StockReservationLineInline]
