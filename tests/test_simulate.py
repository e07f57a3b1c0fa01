"""The demo traffic's plan: the mix as given, every scenario in its exact share."""

import io
import random
import re
import urllib.request
from collections import Counter

import pytest
from django.core.management import CommandError, call_command

from inventory.models import Product
from inventory.services import product_restock
from ops.simulation import (
    DEFAULT_MIX,
    SCENARIOS,
    SOLD_OUT,
    PlacedOrder,
    Shop,
    Simulation,
    parse_mix,
    plan,
    prepare_shop,
)

from .processes import child_env, free_port, start_web, wait_for


def test_the_default_mix_takes_every_path():
    mix = parse_mix(DEFAULT_MIX)

    assert set(mix) == set(SCENARIOS)
    assert sum(mix.values()) == 100
    assert mix["confirmed"] == 30


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("out_of_stock=60,declined=50", "more than 100"),
        ("lost=10", "unknown scenario 'lost'"),
        ("confirmed=10", "unknown scenario 'confirmed'"),
        ("declined=ten", "declined needs a percentage"),
        ("declined=-5", "cannot be negative"),
    ],
)
def test_a_wrong_mix_is_refused_with_the_reason(text, error):
    with pytest.raises(ValueError, match=error):
        parse_mix(text)


def test_the_plan_has_each_scenarios_share_exactly_in_a_seeded_order():
    mix = parse_mix("out_of_stock=10,declined=10,undeliverable=10,cancelled=10,dispatched=30")

    first = plan(50, mix, random.Random(3))
    again = plan(50, mix, random.Random(3))

    counts = Counter(scenario.name for scenario in first)
    assert counts == {
        "confirmed": 15,
        "out_of_stock": 5,
        "declined": 5,
        "undeliverable": 5,
        "cancelled": 5,
        "dispatched": 15,
    }
    assert first == again
    assert first != sorted(first, key=lambda scenario: scenario.name), "shuffled"


def test_shares_that_do_not_divide_go_to_the_largest_remainders():
    counts = Counter(scenario.name for scenario in plan(7, parse_mix("declined=50"), random.Random(1)))

    assert sum(counts.values()) == 7
    assert abs(counts["declined"] - counts["confirmed"]) == 1


class ReadSideCatchingUp:
    """The query API as a client sees it just after placing an order: not there, then there."""

    def __init__(self, *answers):
        self.answers = list(answers)

    def call(self, token, method, path, body=None, **headers):
        return self.answers.pop(0)


def test_an_order_not_yet_projected_is_polled_again():
    api = ReadSideCatchingUp(
        (404, {"detail": "Not found."}), (200, {"status": "CONFIRMED", "failure_reason": None})
    )
    shop = Shop("staff", "shopper", "broke", skus=("KB",), sold_out_sku="SOLD", position=0)
    simulation = Simulation(api=api, shop=shop, scenarios=[], rate=0, rng=random.Random(1))
    simulation.placed.append(PlacedOrder("an-order", SCENARIOS["confirmed"]))

    simulation._poll()
    assert simulation.placed[0].status == "PENDING"
    simulation._poll()
    assert simulation.placed[0].status == "CONFIRMED"


def test_the_command_refuses_a_wrong_mix_before_touching_anything():
    with pytest.raises(CommandError, match="--failure-mix: unknown scenario"):
        call_command("simulate", failure_mix="lost=10")
    with pytest.raises(CommandError, match="--orders must be at least 1"):
        call_command("simulate", orders=0)


@pytest.mark.system
@pytest.mark.django_db(transaction=True, databases=["default", "read"])
def test_out_of_stock_orders_run_out_however_much_the_catalogue_holds(saga_processes):
    prepare_shop()
    for sku in Product.objects.values_list("sku", flat=True):
        # Far more than an order line may ask for; the simulator's own product gets a little.
        product_restock(sku=sku, quantity=50 if sku == SOLD_OUT[0] else 20_000)
    port = free_port()
    web = start_web(child_env(), port)
    out = io.StringIO()
    try:
        wait_for(lambda: _answers(port), timeout=60, what="gunicorn", processes=(web,))
        call_command(
            "simulate",
            orders=3,
            rate=0,
            failure_mix="out_of_stock=100",
            base_url=f"http://127.0.0.1:{port}",
            timeout=90,
            stdout=out,
        )
    finally:
        web.stop()

    assert re.search(r"out_of_stock\s+3\s+3$", out.getvalue(), re.MULTILINE), out.getvalue()


def _answers(port: int) -> bool:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
        return response.status == 200
