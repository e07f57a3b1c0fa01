"""The demo traffic's plan: the mix as given, every scenario in its exact share."""

import random
from collections import Counter

import pytest
from django.core.management import CommandError, call_command

from ops.simulation import DEFAULT_MIX, SCENARIOS, parse_mix, plan


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


def test_the_command_refuses_a_wrong_mix_before_touching_anything():
    with pytest.raises(CommandError, match="--failure-mix: unknown scenario"):
        call_command("simulate", failure_mix="lost=10")
    with pytest.raises(CommandError, match="--orders must be at least 1"):
        call_command("simulate", orders=0)
