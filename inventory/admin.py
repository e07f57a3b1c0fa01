from django.contrib import admin
from django.db.models import F

from config.admin import ReadOnlyModelAdmin

from .models import Product, StockMovement


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
