import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpResponsePermanentRedirect, JsonResponse
from django.urls import Resolver404, resolve
from django.views.decorators.csrf import csrf_exempt
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


@csrf_exempt  # it changes nothing; a CSRF refusal would answer an HTML page instead of JSON
def api_path_not_found(request, *args, **kwargs):
    """The last pattern under /api/: whatever no other pattern matched answers JSON.

    Django's handler404 is skipped when DEBUG is on (the debug page lists every URL pattern
    instead), and a malformed id such as ``/api/orders/not-a-uuid/`` fails the resolver before
    any view runs; matching it here answers JSON in both modes. Matching everything also
    takes the work of APPEND_SLASH, which this pattern defeats: a safe request that only
    lacks its slash is redirected, any other is told where it meant to go.
    """
    with_slash = f"{request.path}/"
    if not request.path.endswith("/") and _is_a_real_path(with_slash):
        if request.method in ("GET", "HEAD"):
            query = request.META.get("QUERY_STRING", "")
            return HttpResponsePermanentRedirect(f"{with_slash}?{query}" if query else with_slash)
        return JsonResponse({"detail": f"Not found. Did you mean {with_slash}?"}, status=404)
    return JsonResponse({"detail": "Not found."}, status=404)


def _is_a_real_path(path: str) -> bool:
    try:
        return resolve(path).func is not api_path_not_found
    except Resolver404:
        return False
