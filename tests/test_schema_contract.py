"""The schema says what the server does: real answers are validated against it with
schemathesis' conformance checks, every header they carry is declared, and the schema
refuses what the server refuses."""

import json
import re
from datetime import timedelta

import httpx
import pytest
import schemathesis
from django.core.cache import cache
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from rest_framework.throttling import SimpleRateThrottle
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from .conftest import token_client
from .processes import ROOT
from .readside import ADDRESS, add_product

pytestmark = pytest.mark.django_db(databases=["default", "read"])

CONFORMANCE = [
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
SERVER_HEADERS = ("X-Event-Position", "Location", "Retry-After")


@pytest.fixture(scope="module")
def openapi() -> dict:
    return json.loads(OpenApiJsonRenderer().render(SchemaGenerator().get_schema(request=None, public=True)))


def operations(openapi: dict):
    for path, methods in openapi["paths"].items():
        for method, operation in methods.items():
            yield path, method, operation


def assert_conforms(openapi: dict, template: str, response) -> None:
    """Validate one answer of the Django test client against its operation in the schema."""
    request = response.wsgi_request
    answer = httpx.Response(
        response.status_code,
        headers=list(response.headers.items()),
        content=response.content,
        request=httpx.Request(request.method, f"http://testserver{request.get_full_path()}"),
    )
    answer.elapsed = timedelta(0)  # what a transport records; schemathesis reads it
    matcher = re.sub(r"\\{(\w+)\\}", r"(?P<\1>[^/]+)", re.escape(template))
    parameters = re.fullmatch(matcher, request.path).groupdict()
    operation = schemathesis.openapi.from_dict(openapi)[template][request.method]
    case = operation.Case(path_parameters=parameters)
    case.validate_response(answer, checks=CONFORMANCE)
    declared = openapi["paths"][template][request.method.lower()]["responses"][str(response.status_code)]
    sent = [name for name in SERVER_HEADERS if name in response]
    assert set(sent) <= set(declared.get("headers", {})), (request.method, template, response.status_code)


def test_every_error_answer_declares_its_json_body(openapi):
    undeclared = [
        f"{method.upper()} {path} {code}"
        for path, method, operation in operations(openapi)
        for code, response in operation["responses"].items()
        if code >= "400" and "application/json" not in response.get("content", {})
    ]

    assert undeclared == []


def test_real_answers_conform_and_their_headers_are_declared(openapi, staff_client, customer, monkeypatch):
    alice = token_client(customer.user)
    add_product("KB", price="50.00", stock=5)
    order = {"items": [{"sku": "KB", "quantity": 1}], "shipping_address": ADDRESS}

    created = staff_client.post(
        "/api/products/", {"sku": "PEN", "name": "Pen", "price": "1.50"}, format="json"
    )
    restocked = staff_client.post("/api/products/PEN/restock/", {"quantity": 2}, format="json")
    placed = alice.post("/api/orders/", order, format="json", HTTP_IDEMPOTENCY_KEY="alice-1")
    reused = alice.post("/api/orders/", {**order, "items": [{"sku": "KB", "quantity": 2}]}, format="json", HTTP_IDEMPOTENCY_KEY="alice-1")  # fmt: skip
    cancelled = alice.post(f"/api/orders/{placed.json()['order_id']}/cancel/")
    # Projection runs after commit, and this test's transaction never commits: the read side
    # stays behind the position the restock answered.
    monkeypatch.setattr("django.conf.settings.READMODELS_CONSISTENCY_WAIT_SECONDS", 0.05)
    behind = alice.get("/api/products/PEN/", HTTP_X_MIN_EVENT_POSITION=restocked["X-Event-Position"])
    cache.clear()
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {"auth": "1/minute"})
    guesses = [staff_client.post("/api/auth/token/", {"username": "x", "password": "y"}, format="json") for _ in range(2)]  # fmt: skip
    cache.clear()

    answers = [
        ("/api/products/", created, 201),
        ("/api/products/{sku}/restock/", restocked, 200),
        ("/api/orders/", placed, 202),
        ("/api/orders/", reused, 422),
        ("/api/orders/{order_id}/cancel/", cancelled, 409),
        ("/api/products/{sku}/", behind, 503),
        ("/api/auth/token/", guesses[0], 400),
        ("/api/auth/token/", guesses[1], 429),
    ]
    assert [response.status_code for _, response, _ in answers] == [status for _, _, status in answers]
    for template, response, _ in answers:
        assert_conforms(openapi, template, response)


def test_list_parameters_are_bounded_as_the_server_bounds_them(openapi):
    lists = {
        f"{method.upper()} {path}": {
            parameter["name"]: parameter["schema"] for parameter in operation["parameters"]
        }
        for path, method, operation in operations(openapi)
        if any(parameter["name"] == "page_size" for parameter in operation.get("parameters", []))
    }

    assert {"GET /api/orders/", "GET /api/products/", "GET /api/sagas/"} <= lists.keys()
    for name, parameters in lists.items():
        assert parameters["page_size"] | {"minimum": 1, "maximum": 100} == parameters["page_size"], name
        assert parameters["page"]["minimum"] == 1, name


def test_the_idempotency_key_is_between_1_and_255_characters(openapi):
    parameters = {
        parameter["name"]: parameter for parameter in openapi["paths"]["/api/orders/"]["post"]["parameters"]
    }

    assert (
        parameters["Idempotency-Key"]["schema"] | {"minLength": 1, "maxLength": 255}
        == parameters["Idempotency-Key"]["schema"]
    )


def decimal_patterns(openapi: dict):
    for name, component in openapi["components"]["schemas"].items():
        for field, schema in component.get("properties", {}).items():
            if schema.get("format") == "decimal":
                yield f"{name}.{field}", re.compile(schema["pattern"])


def test_decimal_strings_need_digits(openapi):
    patterns = dict(decimal_patterns(openapi))
    assert patterns

    for name, pattern in patterns.items():
        assert pattern.match("12.50"), name
        for malformed in ("", "-", ".", "-.", "1.", "1.234", "abc"):
            assert not pattern.match(malformed), (name, malformed)


def test_a_price_is_positive_in_the_schema_as_on_the_server(openapi):
    price = re.compile(
        openapi["components"]["schemas"]["ProductCreateInputRequest"]["properties"]["price"]["pattern"]
    )

    assert [bool(price.match(value)) for value in ("0.01", "1", "10.50", "0.00", "0", "-1.00")] == [
        True, True, True, False, False, False,
    ]  # fmt: skip


def test_the_security_scheme_and_readme_name_the_token_prefix(openapi):
    scheme = openapi["components"]["securitySchemes"]["tokenAuth"]
    readme = (ROOT / "README.md").read_text()

    assert (scheme["in"], scheme["name"]) == ("header", "Authorization")
    assert "Authorization: Token <token>" in scheme["description"]
    assert 'prefix="Token"' in readme
