"""Processes and servers die mid-run; every accepted order still ends, and the books balance.

Each test prints its figures (time to recover, extra sends) for docs/RELIABILITY.md.
"""

import random
import time
import urllib.error

import pytest

from ..test_sagas_e2e import PARTICIPANT_TASKS
from .conftest import record_figures
from .servers import pause
from .system import RECOVERY_BOUND_SECONDS, TERMINAL, Answer

pytestmark = pytest.mark.faults


def stock_the_shop(system):
    system.add_product("KB", price="50.00", stock=120)
    system.add_product("MS", price="20.00", stock=80)
    system.add_product("LT", price="90.00", stock=15)
    customers = [system.add_customer(f"c{n}") for n in range(8)]
    customers.append(system.add_customer("thrifty", credit="100.00"))
    return customers


def an_order_mix(customers, count: int, seed: int = 7):
    """Mostly good orders, with some out of stock, declined and undeliverable ones."""
    pick = random.Random(seed)
    orders = []
    for n in range(count):
        customer = customers[n % len(customers)]
        items = [(pick.choice(["KB", "MS", "LT"]), pick.randint(1, 3))]
        country = "XX" if n % 17 == 0 else "GB"
        orders.append((customer, items, country))
    return orders


def accepted_orders(answers) -> list[str]:
    assert {answer.status for answer in answers} == {202}, [a.status for a in answers if a.status != 202][:5]
    return [answer.body["order_id"] for answer in answers]


def admin_page(opener, system, path: str) -> Answer:
    try:
        with opener.open(f"http://127.0.0.1:{system.port}{path}", timeout=30) as response:
            return Answer(response.status, None, dict(response.headers))
    except urllib.error.HTTPError as error:
        return Answer(error.code, None, dict(error.headers))


def assert_every_order_ended(system, order_ids) -> None:
    for order_id in order_ids:
        saga = system.get(f"/api/orders/{order_id}/", token=system.staff_token).body["saga"]
        assert saga["state"] in TERMINAL, (order_id, saga)
    assert system.saga_counts()["FAILED"] == 0


def test_kill_9_workers_repeatedly_while_two_hundred_orders_run(system):
    customers = stock_the_shop(system)

    orders = accepted_orders(system.place_many(an_order_mix(customers, 200), concurrency=10))
    kills = 0
    for _ in range(3):
        pause(1.0)
        assert system.saga_counts()["RUNNING"] > 0, "the kill must land while sagas are in flight"
        system.kill_worker(system.workers[0])
        kills += 1
        system.start_worker()
    last_kill = time.monotonic()
    recovery = system.wait_until_settled()

    assert_every_order_ended(system, orders)
    system.check_invariants()
    resent = system.redelivered()
    # A killed worker held at most 4 messages (2 running, 2 prefetched); each may come back both
    # through the visibility timeout and through the sweeper. More means queued work was re-sent.
    assert resent <= kills * 4 * 2
    record_figures(
        "kill -9 worker",
        orders=len(orders),
        kills=kills,
        seconds_to_settle_after_last_kill=round(time.monotonic() - last_kill, 1),
        waited=recovery,
        bound=RECOVERY_BOUND_SECONDS,
        resent=resent,
        rescued_events=system.rescued_events(),
    )


def test_redis_dies_mid_run_and_comes_back(system):
    customers = stock_the_shop(system)

    first = accepted_orders(system.place_many(an_order_mix(customers, 80), concurrency=8))
    pause(0.5)
    assert system.saga_counts()["RUNNING"] > 0, "Redis must die while sagas are in flight"
    system.redis.stop()
    during = system.place_many(an_order_mix(customers, 10, seed=11), concurrency=5)
    pause(3)
    system.redis.start()
    restored = time.monotonic()
    recovery = system.wait_until_settled()

    assert all(answer.status in (202, 503) for answer in during)
    accepted_during = [answer.body["order_id"] for answer in during if answer.status == 202]
    assert_every_order_ended(system, first + accepted_during)
    system.check_invariants()
    orders = len(first) + len(accepted_during)
    resent = system.redelivered()
    # Every queued message died with Redis: each saga in flight lost its step once, and a step
    # re-sent before Redis was back may be lost again.
    assert 1 <= resent <= 2 * orders
    record_figures(
        "redis restart",
        orders=orders,
        accepted_while_down=len(accepted_during),
        seconds_to_settle_after_restart=round(time.monotonic() - restored, 1),
        waited=recovery,
        resent=resent,
        rescued_events=system.rescued_events(),
    )


def test_postgres_connections_killed_and_server_restarted_mid_run(system):
    customers = stock_the_shop(system)

    operator = system.admin_session()
    first = accepted_orders(system.place_many(an_order_mix(customers, 80), concurrency=8))
    pause(0.5)
    assert system.saga_counts()["RUNNING"] > 0, "PostgreSQL must go while sagas are in flight"
    killed = system.postgres.terminate_connections([system.database, f"{system.database}_read"])
    pause(0.5)
    system.postgres.stop("fast")
    while_down = [
        system.get("/healthz"),
        system.place(customers[0], [("KB", 1)]),
        system.get("/api/orders/", token=system.staff_token),
        admin_page(operator, system, "/admin/sagas/saga/"),
    ]
    system.postgres.start()
    restarted = time.monotonic()
    after = accepted_orders([system.place(customers[1], [("MS", 1)])])
    recovery = system.wait_until_settled()

    assert killed > 0
    assert [answer.status for answer in while_down] == [503, 503, 503, 503]
    assert all("Retry-After" in answer.headers for answer in while_down[1:3])
    assert_every_order_ended(system, first + after)
    system.check_invariants()
    resent = system.redelivered()
    assert resent <= len(first) + len(after), "at most one lost step per saga in flight"
    record_figures(
        "postgres restart",
        orders=len(first) + len(after),
        backends_killed=killed,
        answers_while_down=[answer.status for answer in while_down],
        seconds_to_settle_after_restart=round(time.monotonic() - restarted, 1),
        waited=recovery,
        resent=resent,
        rescued_events=system.rescued_events(),
    )


@pytest.mark.failpoints
def test_a_process_that_dies_between_commit_and_send_is_repaired(system):
    customers = stock_the_shop(system)
    # The web process dies after committing an order, before sending its first command; a worker
    # dies after recording a reply, before sending the next command; another after a
    # participant committed, before replying.
    system.manage("failpoint", "on", "inventory.reserve_stock", "CRASH", "--times", "1")
    system.manage("failpoint", "on", "payments.charge_payment", "CRASH", "--times", "2")
    system.manage("failpoint", "on", "sagas.record_reply", "CRASH", "--times", "2")

    try:
        crashed = system.place(customers[0], [("KB", 1)], key="order-crash")
    except (urllib.error.URLError, ConnectionError):
        crashed = None
    retried = system.place(customers[0], [("KB", 1)], key="order-crash")
    others = accepted_orders(system.place_many(an_order_mix(customers, 30), concurrency=5))
    recovery = system.wait_until_settled()

    assert crashed is None or crashed.status >= 500, "the web worker died before answering"
    assert retried.status == 202, "the order was committed; the retry replays it"
    fired = system.manage("failpoint", "list").stdout
    assert "reserve_stock CRASH (0 left, fired 1)" in fired
    assert "charge_payment CRASH (0 left, fired 2)" in fired
    assert_every_order_ended(system, [retried.body["order_id"], *others])
    system.check_invariants()
    resent, rescued = system.redelivered(), system.rescued_events()
    # The web crash and both charge_payment crashes each lost a command only the sweeper could
    # re-send; the reply crashes come back by redelivery.
    assert 3 <= resent <= 10
    record_figures(
        "crash between commit and send",
        orders=len(others) + 1,
        waited=recovery,
        resent=resent,
        rescued_events=rescued,
    )


@pytest.mark.failpoints
def test_every_message_twice_and_out_of_order(system):
    customers = stock_the_shop(system)
    tasks = [*PARTICIPANT_TASKS, "sagas.record_reply"]
    system.manage("failpoint", "on", ",".join(tasks), "DUPLICATE")
    system.manage("failpoint", "on", ",".join(tasks), "SHUFFLE")

    orders = accepted_orders(system.place_many(an_order_mix(customers, 60), concurrency=6))
    system.wait_until_settled()
    confirmed = [
        order["order_id"]
        for order in system.get("/api/orders/?status=CONFIRMED&page_size=100", token=system.staff_token).body[
            "results"
        ]
    ]
    for order_id in confirmed[:5]:
        assert system.post(f"/api/orders/{order_id}/cancel/", token=system.staff_token).status == 202
    for order_id in confirmed[5:10]:
        assert system.post(f"/api/shipments/{order_id}/dispatch/", token=system.staff_token).status == 202
    recovery = system.wait_until_settled()

    assert_every_order_ended(system, orders)
    output = system.check_invariants()
    assert "each (order, side effect) applied at most once" in output
    # Delays of at most half a second never reach a 20 s step deadline; what is re-sent is a
    # retry after two copies of one command collided (a lock wait, the receipt's unique key).
    resent = system.redelivered()
    assert resent <= len(orders) // 6
    record_figures(
        "every message twice, shuffled",
        orders=len(orders),
        waited=recovery,
        resent=resent,
        rescued_events=system.rescued_events(),
    )
