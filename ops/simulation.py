"""Demo traffic: orders placed through the public API of a running server, in a mix that takes
sagas down every path they have (confirmed, out of stock, declined, undeliverable, cancelled,
dispatched), so that someone watching the dashboard sees each one happen.

Only the shop's setup (a catalogue, a staff login and two customers) is written directly, as
``seed_demo`` does; every order, cancellation, dispatch and restock is an HTTP command.
"""

from __future__ import annotations

import json
import random
import secrets
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from uuid import uuid4

from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token

from eventlog.services import event_log_head
from inventory.models import Product
from inventory.services import product_create
from payments.models import Customer
from payments.services import customer_register

from .management.commands.seed_demo import PRODUCTS


@dataclass(frozen=True)
class Scenario:
    name: str
    status: str  # the order's status once the scenario has played out
    reason: str = ""  # the failure code a rejection starts with
    follow_up: str = ""  # the command sent once the order is CONFIRMED


SCENARIOS = {
    scenario.name: scenario
    for scenario in (
        Scenario("confirmed", "CONFIRMED"),
        Scenario("out_of_stock", "REJECTED", reason="OUT_OF_STOCK"),
        Scenario("declined", "REJECTED", reason="PAYMENT_DECLINED"),
        Scenario("undeliverable", "REJECTED", reason="UNDELIVERABLE"),
        Scenario("cancelled", "CANCELLED", follow_up="cancel"),
        Scenario("dispatched", "SHIPPED", follow_up="dispatch"),
    )
}
# Percentages of the orders; what they leave over is confirmed.
DEFAULT_MIX = "out_of_stock=10,declined=10,undeliverable=10,cancelled=10,dispatched=30"
SETTLED = frozenset({"CONFIRMED", "REJECTED", "CANCELLED", "SHIPPED"})

STAFF_USERNAME = "simulator"
SHOPPER = ("shopper", "Sam Shopper", Decimal("1000000.00"))
BROKE_SHOPPER = ("broke-shopper", "Brook Broke", Decimal("1.00"))
# Everyday baskets avoid the one-unit lamp; restocking keeps them from running out by accident.
LOW_STOCK = 10
RESTOCK_QUANTITY = 100
# The out-of-stock scenario orders a product of its own that only it orders and nobody else
# restocks, one unit more than it holds, so the shortage does not depend on how much stock
# the catalogue has. An order line asks for at most 10,000 units.
SOLD_OUT = ("SIM-SOLD-OUT", "Sold out (demo traffic)", "5.00")
MAX_LINE_QUANTITY = 10_000
COUNTRIES = ("GB", "US", "DE", "FR", "NL", "CA")
UNSERVED_COUNTRY = "XX"
POLL_INTERVAL = 0.3


def parse_mix(text: str) -> dict[str, float]:
    """``"out_of_stock=10,declined=5"`` -> percentages by scenario, the rest ``confirmed``."""
    mix: dict[str, float] = {}
    for part in filter(None, (piece.strip() for piece in text.split(","))):
        name, _, value = part.partition("=")
        name = name.strip()
        if name not in SCENARIOS or name == "confirmed":
            raise ValueError(
                f"unknown scenario {name!r}; use {', '.join(sorted(set(SCENARIOS) - {'confirmed'}))}"
            )
        try:
            mix[name] = float(value)
        except ValueError:
            raise ValueError(f"{name} needs a percentage, as in {name}=10") from None
        if mix[name] < 0:
            raise ValueError(f"{name} cannot be negative")
    if sum(mix.values()) > 100:
        raise ValueError("the percentages add up to more than 100")
    return {"confirmed": 100 - sum(mix.values()), **mix}


def plan(orders: int, mix: dict[str, float], rng: random.Random) -> list[Scenario]:
    """Exactly the mix's share of each scenario (largest remainders), in a random order."""
    exact = {name: orders * share / 100 for name, share in mix.items()}
    counts = {name: int(value) for name, value in exact.items()}
    by_remainder = sorted(exact, key=lambda name: exact[name] - counts[name], reverse=True)
    for name in by_remainder[: orders - sum(counts.values())]:
        counts[name] += 1
    planned = [SCENARIOS[name] for name, count in counts.items() for _ in range(count)]
    rng.shuffle(planned)
    return planned


@dataclass(frozen=True)
class Shop:
    staff_token: str
    shopper_token: str
    broke_token: str
    skus: tuple[str, ...]
    sold_out_sku: str
    # The log's head once the shop exists: its first reads wait for the read models to get there.
    position: int


def prepare_shop() -> Shop:
    """The catalogue, a staff login for restocks and dispatches, a shopper with ample credit and
    one with almost none. Safe to run again."""
    for sku, name, price, stock in (*PRODUCTS, (*SOLD_OUT, 0)):
        if not Product.objects.filter(sku=sku).exists():
            product_create(sku=sku, name=name, price=Decimal(price), stock=stock)
    staff, _ = get_user_model().objects.get_or_create(
        username=STAFF_USERNAME, defaults={"is_staff": True, "email": "simulator@example.com"}
    )
    tokens = [Token.objects.get_or_create(user=staff)[0].key]
    for username, name, credit in (SHOPPER, BROKE_SHOPPER):
        customer = Customer.objects.filter(user__username=username).select_related("user").first()
        if customer is None:
            customer = customer_register(
                username=username,
                password=secrets.token_urlsafe(16),
                email=f"{username}@example.com",
                name=name,
                credit_limit=credit,
            )
        tokens.append(Token.objects.get_or_create(user=customer.user)[0].key)
    everyday = tuple(sku for sku, *_, stock in PRODUCTS if stock > 1)
    return Shop(*tokens, skus=everyday, sold_out_sku=SOLD_OUT[0], position=event_log_head())


class ApiError(Exception):
    pass


class Api:
    def __init__(self, base_url: str, *, timeout: float = 10):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def call(
        self, token: str, method: str, path: str, body: dict | None = None, **headers
    ) -> tuple[int, dict]:
        request = urllib.request.Request(
            f"{self.base_url}{path}",
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"Token {token}", "Content-Type": "application/json", **headers},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return response.status, json.load(response)
        except urllib.error.HTTPError as error:
            return error.code, _json_or_text(error.read())
        except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
            raise ApiError(f"{method} {self.base_url}{path}: {error}") from error


def _json_or_text(raw: bytes) -> dict:
    try:
        return json.loads(raw)
    except ValueError:
        return {"detail": raw.decode(errors="replace")[:200]}


@dataclass
class PlacedOrder:
    order_id: str
    scenario: Scenario
    status: str = "PENDING"
    reason: str = ""
    followed_up: bool = False

    @property
    def settled(self) -> bool:
        waiting_for_follow_up = self.scenario.follow_up and self.status == "CONFIRMED"
        return self.status in SETTLED and not waiting_for_follow_up

    @property
    def as_expected(self) -> bool:
        return self.status == self.scenario.status and self.reason == self.scenario.reason


@dataclass
class Simulation:
    """Places the planned orders at ``rate`` per second (0: as fast as the server answers),
    sends each follow-up once its order is confirmed, and waits for every order to settle."""

    api: Api
    shop: Shop
    scenarios: list[Scenario]
    rate: float
    rng: random.Random
    progress: Callable[[Simulation], None] = lambda simulation: None
    placed: list[PlacedOrder] = field(default_factory=list)
    available: dict[str, int] = field(default_factory=dict)
    _polled_at: float = 0.0

    def run(self, *, timeout: float) -> None:
        for sku in (*self.shop.skus, self.shop.sold_out_sku):
            self.available[sku] = self._request(
                self.shop.staff_token,
                "GET",
                f"/api/products/{sku}/",
                **{"X-Min-Event-Position": str(self.shop.position)},
            )["available"]
        if self.available[self.shop.sold_out_sku] >= MAX_LINE_QUANTITY:
            raise ApiError(
                f"{self.shop.sold_out_sku} holds {self.available[self.shop.sold_out_sku]} units: an order "
                f"line cannot ask for more, so no order for it can run out of stock"
            )
        interval = 1 / self.rate if self.rate > 0 else 0
        next_at = time.monotonic()
        for scenario in self.scenarios:
            if time.monotonic() - self._polled_at >= POLL_INTERVAL:
                self._poll()
            time.sleep(max(next_at - time.monotonic(), 0))
            next_at += interval
            self.placed.append(self._place(scenario))
            self.progress(self)
        deadline = time.monotonic() + timeout
        while not all(order.settled for order in self.placed):
            if time.monotonic() > deadline:
                waiting = sum(not order.settled for order in self.placed)
                raise ApiError(
                    f"{waiting} order(s) did not settle within {timeout:.0f} s; is a worker running?"
                )
            time.sleep(POLL_INTERVAL)
            self._poll()

    @property
    def settled(self) -> int:
        return sum(order.settled for order in self.placed)

    def outcomes(self) -> Counter[tuple[str, bool]]:
        return Counter((order.scenario.name, order.as_expected) for order in self.placed)

    def _place(self, scenario: Scenario) -> PlacedOrder:
        token = self.shop.broke_token if scenario.name == "declined" else self.shop.shopper_token
        items = self._basket(scenario)
        country = UNSERVED_COUNTRY if scenario.name == "undeliverable" else self.rng.choice(COUNTRIES)
        body = {
            "items": [{"sku": sku, "quantity": quantity} for sku, quantity in items.items()],
            "shipping_address": {
                "name": "Sam Shopper",
                "line1": f"{self.rng.randint(1, 200)} High Street",
                "city": "Leeds",
                "postal_code": "LS1 4AP",
                "country": country,
            },
        }
        answer = self._request(token, "POST", "/api/orders/", body, **{"Idempotency-Key": str(uuid4())})
        return PlacedOrder(answer["order_id"], scenario)

    def _basket(self, scenario: Scenario) -> dict[str, int]:
        if scenario.name == "out_of_stock":
            return {self.shop.sold_out_sku: self.available[self.shop.sold_out_sku] + 1}
        skus = self.rng.sample(self.shop.skus, k=self.rng.randint(1, 2))
        basket = {sku: self.rng.randint(1, 3) for sku in skus}
        # Counted as taken even when the saga will give it back: restocking early is harmless,
        # running out would turn an everyday order into an unplanned OUT_OF_STOCK.
        for sku, quantity in basket.items():
            if self.available[sku] - quantity < LOW_STOCK:
                self._request(
                    self.shop.staff_token,
                    "POST",
                    f"/api/products/{sku}/restock/",
                    {"quantity": RESTOCK_QUANTITY},
                )
                self.available[sku] += RESTOCK_QUANTITY
            self.available[sku] -= quantity
        return basket

    def _poll(self) -> None:
        self._polled_at = time.monotonic()
        for order in self.placed:
            if order.settled:
                continue
            path = f"/api/orders/{order.order_id}/"
            status, answer = self.api.call(self.shop.staff_token, "GET", path)
            if status == 404:
                # Placed (the command answered 202) but not projected yet: the read models follow
                # the write side, so the next poll looks again.
                continue
            if status >= 300:
                raise ApiError(f"GET {path} answered {status}: {answer}")
            order.status = answer["status"]
            order.reason = (answer["failure_reason"] or "").partition(":")[0]
            if order.scenario.follow_up and order.status == "CONFIRMED" and not order.followed_up:
                self._follow_up(order)
        self.progress(self)

    def _follow_up(self, order: PlacedOrder) -> None:
        path = {
            "cancel": f"/api/orders/{order.order_id}/cancel/",
            "dispatch": f"/api/shipments/{order.order_id}/dispatch/",
        }[order.scenario.follow_up]
        token = self.shop.shopper_token if order.scenario.follow_up == "cancel" else self.shop.staff_token
        status, answer = self.api.call(token, "POST", path)
        # 409: the order moved on meanwhile; the next poll reads where it is.
        if status not in (202, 409):
            raise ApiError(f"POST {path} answered {status}: {answer}")
        order.followed_up = True
        if status == 202:
            # Both commands change the order's status before they answer.
            order.status = "CANCELLING" if order.scenario.follow_up == "cancel" else "SHIPPED"

    def _request(self, token: str, method: str, path: str, body: dict | None = None, **headers) -> dict:
        status, answer = self.api.call(token, method, path, body, **headers)
        if status >= 300:
            raise ApiError(f"{method} {path} answered {status}: {answer}")
        return answer
