from django.contrib import admin


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
