from django.contrib.admin.apps import AdminConfig


class OperationsAdminConfig(AdminConfig):
    """Django's admin, served by ``config.admin.OperationsAdminSite`` (its login is throttled)."""

    default_site = "config.admin.OperationsAdminSite"
