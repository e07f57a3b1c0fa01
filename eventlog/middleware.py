from django.db import DatabaseError

from .services import event_log_head, last_appended_position

COMMAND_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class EventPositionMiddleware:
    """Stamp every successful command response with ``X-Event-Position``.

    The value is the position of the last event the command appended; a command that appended
    none gets the head of the log, which is just as safe for a client waiting on the read side.
    A response that carries its own (a replayed idempotent answer) keeps it.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = last_appended_position.set(None)
        try:
            response = self.get_response(request)
            succeeded = 200 <= response.status_code < 300
            if request.method in COMMAND_METHODS and succeeded and "X-Event-Position" not in response:
                position = last_appended_position.get()
                if position is None:
                    position = _head_or_none()
                if position is not None:
                    response["X-Event-Position"] = str(position)
            return response
        finally:
            last_appended_position.reset(token)


def _head_or_none() -> int | None:
    """The command has already succeeded; a database gone since then must not turn its answer
    into an error, so the header is left out instead."""
    try:
        return event_log_head()
    except DatabaseError:
        return None
