from django.contrib import admin

from config.admin import ReadOnlyModelAdmin

from .models import Saga, SagaStep


class SagaStepInline(admin.TabularInline):
    model = SagaStep
    fields = ("name", "direction", "status", "attempts", "started_at", "finished_at", "error")
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False


@admin.register(Saga)
class SagaAdmin(ReadOnlyModelAdmin):
    list_display = ("id", "type", "state", "current_step", "subject_id", "created_at", "updated_at")
    list_filter = ("state", "type", ("created_at", admin.DateFieldListFilter))
    search_fields = ("=id", "=subject_id")
    date_hierarchy = "created_at"
    inlines = [SagaStepInline]
