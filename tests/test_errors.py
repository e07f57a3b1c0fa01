import pytest
from django.db import OperationalError
from django.test import RequestFactory

from config.errors import server_error_or_unavailable


def test_a_database_outage_is_a_503_with_retry_after_not_a_500():
    request = RequestFactory().get("/admin/")
    try:
        raise OperationalError("connection refused")
    except OperationalError:
        response = server_error_or_unavailable(request)

    assert response.status_code == 503
    assert response["Retry-After"] == "5"


def test_any_other_error_is_still_a_500():
    request = RequestFactory().get("/admin/")
    try:
        raise ValueError("a bug")
    except ValueError:
        response = server_error_or_unavailable(request)

    assert response.status_code == 500


@pytest.mark.django_db
def test_an_api_path_nothing_matches_answers_json(staff_client, client):
    api = staff_client.get("/api/orders/not-a-uuid/")
    page = client.get("/no-such-page/")

    assert api.status_code == 404
    assert api.json() == {"detail": "Not found."}
    assert page.status_code == 404
    assert page["Content-Type"].startswith("text/html")


MALFORMED_IDS = [
    ("get", "/api/orders/not-a-uuid/"),
    ("get", "/api/orders/not-a-uuid/timeline/"),
    ("get", "/api/sagas/not-a-uuid/"),
    ("post", "/api/sagas/not-a-uuid/retry/"),
    ("post", "/api/orders/not-a-uuid/cancel/"),
    ("post", "/api/shipments/not-a-uuid/dispatch/"),
    ("get", "/api/customers/not-a-uuid/summary/"),
    ("delete", "/api/no-such-thing/"),
]


@pytest.fixture(params=[True, False], ids=["debug", "no-debug"])
def debug(request, settings):
    settings.DEBUG = request.param
    return request.param


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "path"), MALFORMED_IDS)
def test_every_api_path_answers_json_with_debug_on_or_off(staff_client, debug, method, path):
    response = getattr(staff_client, method)(path)

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Not found."}


@pytest.mark.django_db
def test_an_api_path_missing_its_slash_is_redirected_when_safe_and_named_otherwise(staff_client, debug):
    listed = staff_client.get("/api/orders?page=2")
    placed = staff_client.post("/api/orders", {}, format="json")

    assert (listed.status_code, listed["Location"]) == (301, "/api/orders/?page=2")
    assert placed.status_code == 404
    assert placed.json() == {"detail": "Not found. Did you mean /api/orders/?"}
