import sys

from django.db import InterfaceError, OperationalError
from django.http import JsonResponse
from django.views.defaults import page_not_found, server_error

from .exceptions import RETRY_AFTER_SECONDS


def server_error_or_unavailable(request, *args, **kwargs):
    """Django's 500 handler, except that a database that cannot be reached is a 503.

    It catches what DRF's exception handler cannot see: errors in middleware (sessions, the
    event-position header), the admin and plain Django views.
    """
    error = sys.exc_info()[1]
    if isinstance(error, (OperationalError, InterfaceError)):
        response = JsonResponse({"detail": "The database is unavailable; retry shortly."}, status=503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
    return server_error(request, *args, **kwargs)


def not_found(request, exception=None):
    """API clients get JSON, as from every other API error; people get Django's page."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=404)
    return page_not_found(request, exception)
