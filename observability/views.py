import hmac

from django.conf import settings
from django.http import HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from .metrics import scrape_registry


@never_cache
@require_GET
def metrics(request):
    """Prometheus' scrape target. Open like /healthz unless METRICS_TOKEN is set; then it wants
    ``Authorization: Bearer <token>`` (Prometheus' ``authorization`` scrape option)."""
    if settings.METRICS_TOKEN and not hmac.compare_digest(
        request.headers.get("Authorization", ""), f"Bearer {settings.METRICS_TOKEN}"
    ):
        response = HttpResponse("metrics need the bearer token\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = "Bearer"
        return response
    return HttpResponse(generate_latest(scrape_registry()), content_type=CONTENT_TYPE_LATEST)
