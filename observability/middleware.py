"""One middleware for what the web process tells operators about each request: its latency for
/metrics, and the fields its log lines carry (a request id, the order or saga it is about)."""

import logging
import re
import time
from uuid import uuid4

from config.logcontext import bind_log_context, enter_log_scope, exit_log_scope

from .metrics import HTTP_REQUEST_DURATION

logger = logging.getLogger(__name__)

COMMAND_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# A request id set by a proxy is kept when it looks like one; anything else is replaced.
REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
UNMATCHED_ROUTE = "unmatched"
# The catch-all that answers JSON for unknown paths under /api/ (config/urls.py) matches them
# only so as to answer; for the metrics they are unmatched like any other unknown path.
API_NOT_FOUND = "api-not-found"
# Anyone can send any token as a method; each distinct label value is a new series kept for the
# life of the process, so only the methods HTTP defines get their own.
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"})
OTHER_METHOD = "other"


class RequestObservabilityMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        offered = request.headers.get("X-Request-ID", "")
        request_id = offered if REQUEST_ID.fullmatch(offered) else uuid4().hex
        token = enter_log_scope(request_id=request_id)
        try:
            response = self.get_response(request)
            elapsed = time.perf_counter() - started
            match = request.resolver_match
            HTTP_REQUEST_DURATION.labels(
                request.method if request.method in KNOWN_METHODS else OTHER_METHOD,
                match.route if match and match.url_name != API_NOT_FOUND else UNMATCHED_ROUTE,
                str(response.status_code),
            ).observe(elapsed)
            if request.method in COMMAND_METHODS:
                # After the view, so that the line carries the saga the command started.
                logger.info(
                    "%s %s answered %s in %.0f ms",
                    request.method,
                    request.path,
                    response.status_code,
                    elapsed * 1000,
                )
            response["X-Request-ID"] = request_id
            return response
        finally:
            exit_log_scope(token)

    def process_view(self, request, view_func, view_args, view_kwargs):
        bind_log_context(order_id=view_kwargs.get("order_id"), saga_id=view_kwargs.get("saga_id"))
