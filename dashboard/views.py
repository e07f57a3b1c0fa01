"""The operations dashboard: one page in the admin, and its panels alone for the page's script
to refresh them in place. Both are wrapped in ``admin_site.admin_view`` (staff only)."""

from django.conf import settings
from django.contrib import admin
from django.template.response import TemplateResponse

from . import panels, selectors


def _panels(request) -> panels.Panels:
    window = selectors.WINDOWS.get(request.GET.get("window", ""), selectors.DEFAULT_WINDOW)
    return panels.build(selectors.snapshot(window))


def dashboard(request):
    built = _panels(request)
    context = {
        **admin.site.each_context(request),
        "title": "Operations dashboard",
        "panels": built,
        "windows": selectors.WINDOWS.values(),
        "refresh_seconds": settings.DASHBOARD_REFRESH_SECONDS,
    }
    return TemplateResponse(request, "dashboard/page.html", context)


def dashboard_panels(request):
    return TemplateResponse(request, "dashboard/panels.html", {"panels": _panels(request)})
