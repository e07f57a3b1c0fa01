from django.contrib import admin
from django.contrib.admin.utils import quote
from django.urls import reverse
from django.utils.html import format_html


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
