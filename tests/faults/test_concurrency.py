"""Races through the real web server: several gunicorn workers, real workers, real Redis."""

from concurrent.futures import ThreadPoolExecutor

import pytest

pytestmark = pytest.mark.faults


def test_fifty_buyers_for_the_last_unit_confirm_exactly_one(system):
    system.add_product("LAST", stock=1)
    buyers = [system.add_customer(f"buyer{n}") for n in range(10)]

    answers = system.place_many([(buyers[n % 10], [("LAST", 1)], "GB") for n in range(50)], concurrency=25)

    assert [answer.status for answer in answers] == [202] * 50
    system.wait_until_settled()
    assert system.orders_by_status() == {
        "PENDING": 0,
        "CONFIRMED": 1,
        "REJECTED": 49,
        "CANCELLING": 0,
        "CANCELLED": 0,
        "SHIPPED": 0,
    }
    product = system.get("/api/products/LAST/", token=system.staff_token).body
    assert (product["on_hand"], product["reserved"], product["available"]) == (1, 1, 0)
    system.check_invariants()


def test_idempotency_key_replays_refuses_a_new_body_and_survives_twenty_concurrent_retries(system):
    system.add_product("KB", stock=50)
    alice = system.add_customer("alice")

    first = system.place(alice, [("KB", 1)], key="alice-1")
    replay = system.place(alice, [("KB", 1)], key="alice-1")
    mismatch = system.place(alice, [("KB", 2)], key="alice-1")
    with ThreadPoolExecutor(max_workers=20) as pool:
        racing = list(pool.map(lambda _: system.place(alice, [("KB", 3)], key="alice-2"), range(20)))

    assert first.status == replay.status == 202
    assert replay.body == first.body
    assert replay.headers["Location"] == first.headers["Location"]
    assert mismatch.status == 422
    assert {answer.status for answer in racing} <= {202, 409}
    assert len({answer.body["order_id"] for answer in racing if answer.status == 202}) == 1
    system.wait_until_settled()
    assert system.get("/api/orders/", token=alice["token"]).body["count"] == 2
    system.check_invariants()
