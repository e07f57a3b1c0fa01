from django.contrib import admin

from config.admin import ReadOnlyModelAdmin

from .models import Shipment


@admin.register(Shipment)
class ShipmentAdmin(ReadOnlyModelAdmin):
    list_display = ("tracking_number", "status", "order_id", "country", "city", "created_at", "dispatched_at")
    list_filter = ("status", "country", ("created_at", admin.DateFieldListFilter))
    search_fields = ("=tracking_number", "=order_id", "recipient_name", "postal_code")
    date_hierarchy = "created_at"
