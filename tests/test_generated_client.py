"""A client generated from the schema by openapi-python-client works unmodified: every module
imports, commands and queries round-trip, and error answers arrive as typed bodies."""

import importlib
import os
import pkgutil
import subprocess
import sys
from types import SimpleNamespace

import httpx
import pytest
from django.test import Client
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer

from payments.factories import StaffUserFactory

from .processes import BIN
from .readside import ADDRESS, add_product, register

pytestmark = pytest.mark.django_db(databases=["default", "read"])

PACKAGE = "orders_api_client"
BASE_URL = "http://testserver"
# Handled by the request pipeline, not the client: no header a generated call needs to send.
TRANSPORT_HEADERS = frozenset({"host", "content-length", "content-type"})


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    folder = tmp_path_factory.mktemp("generated")
    schema = folder / "schema.json"
    schema.write_bytes(OpenApiJsonRenderer().render(SchemaGenerator().get_schema(request=None, public=True)))
    subprocess.run(
        [str(BIN / "openapi-python-client"), "generate", "--path", str(schema), "--output-path",
         str(folder / PACKAGE), "--meta", "none"],
        env={**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"},
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    sys.path.insert(0, str(folder))
    try:
        yield folder
    finally:
        sys.path.remove(str(folder))
        for name in [name for name in sys.modules if name.partition(".")[0] == PACKAGE]:
            del sys.modules[name]


def load(name: str):
    return importlib.import_module(f"{PACKAGE}.{name}")


def test_every_generated_module_imports(generated):
    package = importlib.import_module(PACKAGE)
    failures = []
    for module in pkgutil.walk_packages(package.__path__, f"{PACKAGE}."):
        try:
            importlib.import_module(module.name)
        except Exception as error:
            failures.append(f"{module.name}: {type(error).__name__}: {error}")

    assert failures == []


def django_transport() -> httpx.MockTransport:
    """Requests go through Django's test client, which keeps this test's database connection
    open (a bare WSGI call would close it at the end of each request)."""
    django = Client()

    def handle(request: httpx.Request) -> httpx.Response:
        answer = django.generic(
            request.method,
            request.url.raw_path.decode(),
            data=request.content,
            content_type=request.headers.get("content-type", ""),
            headers={name: value for name, value in request.headers.items() if name not in TRANSPORT_HEADERS},
        )
        return httpx.Response(
            answer.status_code, headers=list(answer.headers.items()), content=answer.content
        )

    return httpx.MockTransport(handle)


@pytest.fixture
def clients(generated):
    """The generated client, talking to the application in this process."""
    client = load("client")
    transport = {"transport": django_transport()}
    anonymous = client.Client(base_url=BASE_URL, httpx_args=transport)

    def log_in(username: str, password: str):
        body = load("models").AuthTokenRequest(username=username, password=password)
        token = load("api.auth.auth_token_create").sync(client=anonymous, body=body).token
        # As README shows: the prefix is "Token"; generated clients default to "Bearer".
        return client.AuthenticatedClient(
            base_url=BASE_URL, token=token, prefix="Token", httpx_args=transport
        )

    add_product("KB", price="50.00", stock=5)
    register("alice")
    StaffUserFactory(username="operator")
    return SimpleNamespace(
        alice=log_in("alice", "pw-alice-123"), staff=log_in("operator", "correct-horse-battery")
    )


def test_the_generated_client_places_an_order_and_reads_typed_errors(clients):
    models = load("models")
    place = load("api.orders.orders_place")
    order = models.PlaceOrderInputRequest.from_dict(
        {"items": [{"sku": "KB", "quantity": 1}], "shipping_address": ADDRESS}
    )

    placed = place.sync_detailed(client=clients.alice, body=order, idempotency_key="alice-1")
    reused = place.sync_detailed(
        client=clients.alice,
        body=models.PlaceOrderInputRequest.from_dict(
            {**order.to_dict(), "items": [{"sku": "KB", "quantity": 2}]}
        ),
        idempotency_key="alice-1",
    )
    order_id, saga_id = placed.parsed.order_id, placed.parsed.saga_id
    # No worker runs here: the order stays PENDING, which takes no other command.
    cancelled = load("api.orders.orders_cancel").sync_detailed(client=clients.alice, order_id=order_id)
    dispatched = load("api.shipments.shipments_dispatch").sync_detailed(
        client=clients.staff, order_id=order_id
    )
    retried = load("api.sagas.sagas_retry").sync_detailed(client=clients.staff, saga_id=saga_id)
    pen = models.ProductCreateInputRequest(sku="PEN-1", name="Pen", price="1.50", stock=10)
    created = load("api.products.products_create").sync(client=clients.staff, body=pen)

    assert placed.status_code == 202
    assert placed.headers["Location"] == f"/api/orders/{order_id}/"
    for answer, status in ((reused, 422), (cancelled, 409), (dispatched, 409), (retried, 409)):
        assert answer.status_code == status
        assert getattr(answer.parsed, "detail", None), (status, answer.content)
    assert (created.sku, created.price, created.available) == ("PEN-1", "1.50", 10)
