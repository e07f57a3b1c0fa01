import math

from django.contrib import admin
from django.contrib.admin.utils import quote
from django.http import HttpResponse
from django.urls import reverse
from django.utils.html import format_html

from .throttling import LoginRateThrottle


class OperationsAdminSite(admin.AdminSite):
    """The admin, whose login form draws on the same guess budget as ``POST /api/auth/token/``:
    otherwise the form would be the unthrottled way to guess a staff password."""

    def login(self, request, extra_context=None):
        if request.method == "POST":
            throttle = LoginRateThrottle()
            if not throttle.allow_request(request, None):
                retry_after = math.ceil(throttle.wait() or 1)
                response = HttpResponse(
                    f"Too many login attempts; try again in {retry_after} seconds.",
                    status=429,
                    content_type="text/plain; charset=utf-8",
                )
                response["Retry-After"] = str(retry_after)
                return response
        return super().login(request, extra_context)


class ReadOnlyModelAdmin(admin.ModelAdmin):
    """Shows write-side rows without letting anyone edit them.

    State changes go through the contexts' services, which record a domain event with each one;
    an edit in the admin would bypass the event log and the read models would never hear of it.
    """

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def saga_link(admin_site: admin.AdminSite, saga_id) -> str:
    """A link to a saga's admin page (its timeline of steps), or a dash when there is none."""
    if saga_id is None:
        return "—"
    url = reverse("admin:sagas_saga_change", args=[quote(saga_id)], current_app=admin_site.name)
    return format_html('<a href="{}">{}</a>', url, saga_id)
