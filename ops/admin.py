from django.contrib import admin

from config.admin import ReadOnlyModelAdmin

from .models import RelayFinish, WorkerHeartbeat


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(ReadOnlyModelAdmin):
    list_display = ("hostname", "last_seen_at", "beats")


@admin.register(RelayFinish)
class RelayFinishAdmin(ReadOnlyModelAdmin):
    list_display = ("run", "chain", "finished_at")
    list_filter = ("run",)
