from django.contrib import admin

from config.admin import ReadOnlyModelAdmin

from .models import ProductAvailability, ProjectorCheckpoint


@admin.register(ProjectorCheckpoint)
class ProjectorCheckpointAdmin(ReadOnlyModelAdmin):
    list_display = ("projector", "position", "updated_at", "last_error_position")


@admin.register(ProductAvailability)
class ProductAvailabilityAdmin(ReadOnlyModelAdmin):
    list_display = ("sku", "name", "price", "on_hand", "reserved", "available", "last_position")
    search_fields = ("sku", "name")
