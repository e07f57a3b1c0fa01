import pytest
from django.contrib.auth import get_user_model

from eventlog.models import Event
from payments.factories import CustomerFactory
from payments.models import Customer

pytestmark = pytest.mark.django_db

NEW_CUSTOMER = {
    "username": "carol",
    "password": "a-long-passphrase-42",
    "email": "carol@example.com",
    "name": "Carol King",
    "credit_limit": "750.00",
}


def state_counts():
    return get_user_model().objects.count(), Customer.objects.count(), Event.objects.count()


def test_staff_registers_a_customer_who_can_then_log_in(staff_client, anonymous_client):
    response = staff_client.post("/api/customers/", NEW_CUSTOMER, format="json")

    assert response.status_code == 201
    body = response.json()
    customer = Customer.objects.get(user__username="carol")
    assert body == {
        "id": str(customer.id),
        "username": "carol",
        "email": "carol@example.com",
        "name": "Carol King",
        "credit_limit": "750.00",
    }
    assert customer.credit_available == customer.credit_limit
    assert not customer.user.is_staff
    event = Event.objects.get(type="CustomerRegistered")
    assert event.aggregate_id == str(customer.id)
    assert "password" not in event.data
    assert response["X-Event-Position"] == str(event.position)

    login = anonymous_client.post(
        "/api/auth/token/", {"username": "carol", "password": "a-long-passphrase-42"}, format="json"
    )
    assert login.status_code == 200
    assert len(login.json()["token"]) == 40


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"credit_limit": "-5.00"}, "credit_limit"),
        ({"credit_limit": "lots"}, "credit_limit"),
        ({"email": "not-an-email"}, "email"),
        ({"username": "white space"}, "username"),
        ({"password": "123"}, "password"),
        ({"password": "carol"}, "password"),
        ({"name": ""}, "name"),
    ],
)
def test_invalid_customer_is_refused(staff_client, change, field):
    before = state_counts()

    response = staff_client.post("/api/customers/", {**NEW_CUSTOMER, **change}, format="json")

    assert response.status_code == 400
    assert field in response.json()
    assert state_counts() == before


def test_missing_fields_are_each_reported(staff_client):
    before = state_counts()

    response = staff_client.post("/api/customers/", {}, format="json")

    assert response.status_code == 400
    assert set(response.json()) == {"username", "password", "email", "name", "credit_limit"}
    assert state_counts() == before


def test_duplicate_username_is_refused(staff_client):
    CustomerFactory(user__username="carol")
    before = state_counts()

    response = staff_client.post("/api/customers/", NEW_CUSTOMER, format="json")

    assert response.status_code == 400
    assert "username" in response.json()
    assert state_counts() == before


def test_a_customer_cannot_register_customers(customer_client):
    before = state_counts()

    assert customer_client.post("/api/customers/", NEW_CUSTOMER, format="json").status_code == 403
    assert state_counts() == before


def test_anonymous_cannot_register_customers(anonymous_client):
    response = anonymous_client.post("/api/customers/", NEW_CUSTOMER, format="json")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
