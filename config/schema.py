"""OpenAPI generation that documents what the server really answers, as tightly as it checks it.

drf-spectacular documents success bodies; clients (and schema-driven fuzzers) also need the
400/401/403/404/409/413/415/422/429/503 answers each operation really produces, with their
bodies (a response declared without one is dropped by generated clients), the headers the
server sends (``X-Event-Position``, ``Retry-After``; ``Location`` where a view declares it),
and decimal strings no looser than DRF's parsing of them.
"""

from decimal import Decimal

from drf_spectacular import openapi
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import ResolvedComponent
from rest_framework import serializers
from rest_framework.permissions import AllowAny

# Components, not inline schemas, so a generated client has one model for each error body.
DETAIL = (
    "ErrorDetail",
    {
        "type": "object",
        "properties": {"detail": {"type": "string"}},
        "required": ["detail"],
    },
)
FIELD_ERRORS = (
    "FieldErrors",
    {
        "type": "object",
        "description": "Field name to a list of messages (DRF's field-error body), or a detail message.",
        "additionalProperties": True,
    },
)
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
EVENT_POSITION_HEADER = {
    "schema": {"type": "integer", "minimum": 0},
    "description": "Position in the event log of the last event this command wrote; send it as "
    "X-Min-Event-Position to read your own write.",
    "required": True,
}
RETRY_AFTER_HEADER = {
    "schema": {"type": "integer", "minimum": 1},
    "description": "Seconds to wait before trying again.",
    "required": True,
}
RETRY_AFTER_CODES = ("429", "503")
NO_BODY = "No response body"  # drf-spectacular's description of a response declared without one
UNDESCRIBED_ERRORS = {"409": "The resource's state does not allow this command now."}


class AutoSchema(openapi.AutoSchema):
    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction=direction)
        errors = self._error_responses()
        for code, (description, _body) in errors.items():
            responses.setdefault(code, {"description": description})
        for code, response in responses.items():
            if code >= "400":
                self._declare_error_body(code, response, errors.get(code))
            if code in RETRY_AFTER_CODES:
                response.setdefault("headers", {})["Retry-After"] = RETRY_AFTER_HEADER
            if self.method in BODY_METHODS and code.startswith("2"):
                response.setdefault("headers", {})["X-Event-Position"] = EVENT_POSITION_HEADER
        return responses

    def _declare_error_body(self, code: str, response: dict, standard: tuple[str, tuple] | None) -> None:
        """Every error answers JSON: a view that declared the status with a description only
        (``OpenApiResponse(description=...)``) gets the body it really sends."""
        if "content" in response:
            return
        description, (name, schema) = standard or (
            UNDESCRIBED_ERRORS.get(code, ""),
            FIELD_ERRORS if code == "400" else DETAIL,
        )
        if response.get("description") in ("", NO_BODY):
            response["description"] = description
        component = ResolvedComponent(name=name, type=ResolvedComponent.SCHEMA, schema=schema, object=name)
        self.registry.register_on_missing(component)
        response["content"] = {"application/json": {"schema": component.ref}}

    def _error_responses(self) -> dict[str, tuple[str, tuple]]:
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

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        if isinstance(field, serializers.DecimalField) and "pattern" in schema:
            schema["pattern"] = decimal_pattern(field)
        return schema


def decimal_pattern(field: serializers.DecimalField) -> str:
    """drf-spectacular's pattern lets every digit be optional, so it matches "" and "-", which
    DRF refuses. Here a number has at least one digit, a sign only if it may be negative, and
    no zero value when its minimum is positive (the smallest positive step, e.g. 0.01)."""
    sign = "" if field.min_value is not None and field.min_value >= 0 else "-?"
    not_zero = "(?!0*(?:\\.0*)?$)" if field.min_value is not None and field.min_value > Decimal(0) else ""
    return f"^{sign}{not_zero}\\d{{1,{field.max_whole_digits}}}(?:\\.\\d{{1,{field.decimal_places}}})?$"


class TokenPrefixScheme(OpenApiAuthenticationExtension):
    """drf-spectacular's token scheme, saying where the prefix goes: generated clients send
    ``Bearer`` unless told otherwise, and this API wants ``Token``."""

    target_class = "rest_framework.authentication.TokenAuthentication"
    name = "tokenAuth"
    match_subclasses = True

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": (
                "Send `Authorization: Token <token>`, with the token from `POST /api/auth/token/`. "
                'The prefix is "Token", not "Bearer": set it in a generated client, e.g. '
                'openapi-python-client\'s `AuthenticatedClient(..., prefix="Token")`.'
            ),
        }
