import pytest
from django.core.cache import cache
from rest_framework.throttling import SimpleRateThrottle

from payments.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"


@pytest.fixture(autouse=True)
def _fresh_throttle_history():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def three_guesses_a_minute(monkeypatch):
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {"auth": "3/minute"})


def guess(client, password: str, **headers) -> int:
    return client.post(
        "/api/auth/token/", {"username": "dora", "password": password}, format="json", **headers
    ).status_code


def admin_guess(client, password: str, **headers) -> int:
    return client.post("/admin/login/", {"username": "dora", "password": password}, **headers).status_code


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


def test_guessing_is_throttled(anonymous_client, three_guesses_a_minute):
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


def test_a_forged_x_forwarded_for_does_not_buy_more_guesses(anonymous_client, three_guesses_a_minute):
    UserFactory(username="dora")

    codes = [guess(anonymous_client, f"guess{i}", HTTP_X_FORWARDED_FOR=f"203.0.113.{i}") for i in range(4)]

    assert codes == [400, 400, 400, 429]
    assert guess(anonymous_client, PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.7") == 429


def test_behind_a_trusted_proxy_each_forwarded_client_has_its_own_budget(
    anonymous_client, three_guesses_a_minute, settings
):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    UserFactory(username="dora")
    # The proxy appends the address it saw; whatever the client sent before that is not trusted.
    mallory = {"HTTP_X_FORWARDED_FOR": "192.0.2.1, 203.0.113.9"}

    mallorys = [guess(anonymous_client, f"guess{i}", **mallory) for i in range(4)]
    mallory_forging_another = guess(
        anonymous_client, "guess", HTTP_X_FORWARDED_FOR="198.51.100.7, 203.0.113.9"
    )
    dora = guess(anonymous_client, PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.7")

    assert mallorys == [400, 400, 400, 429]
    assert mallory_forging_another == 429
    assert dora == 200


def test_the_admin_login_form_is_throttled_like_the_token_endpoint(client, three_guesses_a_minute):
    UserFactory(username="dora", is_staff=True)

    codes = [admin_guess(client, f"guess{i}", HTTP_X_FORWARDED_FOR=f"203.0.113.{i}") for i in range(4)]
    throttled = client.post("/admin/login/", {"username": "dora", "password": PASSWORD})

    assert codes == [200, 200, 200, 429]  # the form answers a wrong password with itself, 200
    assert throttled.status_code == 429
    assert int(throttled["Retry-After"]) > 0
    assert client.get("/admin/login/").status_code == 200  # the form itself still shows


def test_the_token_endpoint_and_the_admin_login_share_one_budget(
    client, anonymous_client, three_guesses_a_minute
):
    UserFactory(username="dora", is_staff=True)

    codes = [
        guess(anonymous_client, "guess0"),
        admin_guess(client, "guess1"),
        guess(anonymous_client, "guess2"),
    ]

    assert codes == [400, 200, 400]
    assert admin_guess(client, PASSWORD) == 429
