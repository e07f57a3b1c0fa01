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
