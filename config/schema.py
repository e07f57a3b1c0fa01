"""OpenAPI generation that documents the error answers every operation can give.

drf-spectacular documents success bodies; clients (and schema-driven fuzzers) also need the
400/401/403/404/409/413/415/429/503 answers each operation really produces.
"""

from drf_spectacular import openapi
from rest_framework.permissions import AllowAny

DETAIL = {
    "type": "object",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
}
FIELD_ERRORS = {
    "type": "object",
    "description": "Field name to a list of messages (DRF's field-error body), or a detail message.",
    "additionalProperties": True,
}
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


class AutoSchema(openapi.AutoSchema):
    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction=direction)
        for code, (description, schema) in self._error_responses().items():
            documented = responses.setdefault(code, {"description": description})
            documented.setdefault("content", {"application/json": {"schema": schema}})
        return responses

    def _error_responses(self) -> dict[str, tuple[str, dict]]:
        view = self.view
        errors = {"503": ("The database is unavailable, or the read models are behind; retry.", DETAIL)}
        public = not view.authentication_classes or any(
            permission is AllowAny for permission in view.permission_classes
        )
        if not public:
            errors["401"] = ("Missing or unknown token.", DETAIL)
            errors["403"] = ("Not allowed for this user.", DETAIL)
        if "{" in self.path:
            errors["404"] = ("No such resource, or not visible to this user.", DETAIL)
        if self.method in BODY_METHODS:
            errors["400"] = ("Invalid input; nothing was changed.", FIELD_ERRORS)
            errors["413"] = ("Request body too large.", DETAIL)
            errors["415"] = ("Unsupported media type; send JSON.", DETAIL)
        if self.method == "GET" and (
            getattr(view, "filterset_class", None) or getattr(view, "projectors", None)
        ):
            errors["400"] = ("Invalid filter or X-Min-Event-Position.", FIELD_ERRORS)
        if self.method == "GET" and self._is_list_view():
            errors["404"] = ("No such page.", DETAIL)
        if view.throttle_classes:
            errors["429"] = ("Too many requests; see Retry-After.", DETAIL)
        return errors
