from django.contrib import admin

from config.admin import ReadOnlyModelAdmin

from .models import WorkerHeartbeat


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(ReadOnlyModelAdmin):
    list_display = ("hostname", "last_seen_at", "beats")
