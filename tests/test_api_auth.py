import pytest
from django.core.cache import cache
from rest_framework.throttling import ScopedRateThrottle

from payments.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"


@pytest.fixture(autouse=True)
def _fresh_throttle_history():
    cache.clear()
    yield
    cache.clear()


def test_valid_credentials_get_a_stable_token(anonymous_client):
    UserFactory(username="dora")

    first = anonymous_client.post(
        "/api/auth/token/", {"username": "dora", "password": PASSWORD}, format="json"
    )
    second = anonymous_client.post(
        "/api/auth/token/", {"username": "dora", "password": PASSWORD}, format="json"
    )

    assert first.status_code == 200
    assert first.json()["token"] == second.json()["token"]


@pytest.mark.parametrize(
    "body",
    [
        {"username": "dora", "password": "wrong"},
        {"username": "nobody", "password": PASSWORD},
        {"username": "dora"},
        {},
        {"username": ["dora"], "password": {"x": 1}},
    ],
)
def test_wrong_or_missing_credentials_answer_400(anonymous_client, body):
    UserFactory(username="dora")

    response = anonymous_client.post("/api/auth/token/", body, format="json")

    assert response.status_code == 400
    assert "token" not in response.json()


def test_the_token_authenticates_later_requests(anonymous_client, staff_user):
    staff_user.set_password(PASSWORD)
    staff_user.save()
    token = anonymous_client.post(
        "/api/auth/token/", {"username": staff_user.username, "password": PASSWORD}, format="json"
    ).json()["token"]

    anonymous_client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    response = anonymous_client.post(
        "/api/products/", {"sku": "A-1", "name": "A", "price": "1.00"}, format="json"
    )

    assert response.status_code == 201


def test_guessing_is_throttled(anonymous_client, monkeypatch):
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"auth": "3/minute"})
    UserFactory(username="dora")

    codes = [
        anonymous_client.post(
            "/api/auth/token/", {"username": "dora", "password": f"guess{i}"}, format="json"
        ).status_code
        for i in range(4)
    ]

    assert codes == [400, 400, 400, 429]
    throttled = anonymous_client.post(
        "/api/auth/token/", {"username": "dora", "password": PASSWORD}, format="json"
    )
    assert throttled.status_code == 429
    assert int(throttled["Retry-After"]) > 0


def test_session_login_also_authenticates_the_api(client, staff_user):
    client.force_login(staff_user)

    response = client.post(
        "/api/products/", {"sku": "A-1", "name": "A", "price": "1.00"}, content_type="application/json"
    )

    assert response.status_code == 201


def test_a_stale_token_does_not_block_logging_in_again(anonymous_client):
    UserFactory(username="dora")
    anonymous_client.credentials(HTTP_AUTHORIZATION="Token revoked-long-ago")

    response = anonymous_client.post(
        "/api/auth/token/", {"username": "dora", "password": PASSWORD}, format="json"
    )

    assert response.status_code == 200
