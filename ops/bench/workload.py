"""What the benchmark asks of the system: a shop, and orders from concurrent clients."""

from __future__ import annotations

import json
import multiprocessing
import random
import time
import urllib.request
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from itertools import repeat

import django
from rest_framework.authtoken.models import Token

from inventory.services import product_create
from orders.services import order_place
from payments.services import customer_register

ADDRESS = {"name": "Bench", "line1": "1 Load St", "city": "Leeds", "postal_code": "LS1"}
CUSTOMERS = 20


@dataclass(frozen=True)
class Workload:
    orders: int
    concurrency: int
    products: int
    hot_share: float
    failure_share: float
    lines: int
    mode: str = "direct"
    url: str = ""
    rps: float = 0.0


@dataclass
class Shop:
    skus: list[str]
    customers: list
    poor: object
    tokens: dict


def prepare_shop(run: str, workload: Workload) -> Shop:
    """Products and customers for one run, created through the services like any others."""
    stock = workload.orders * workload.lines * 2
    skus = []
    for index in range(max(workload.products, workload.lines)):
        sku = f"B{run[:6]}-{index:03d}"
        product_create(sku=sku, name=f"Bench product {index}", price=Decimal("10.00"), stock=stock)
        skus.append(sku)

    def customer(name: str, credit: str):
        created = customer_register(
            username=f"b{run[:6]}-{name}",
            password="bench-pass-123",
            email=f"{name}@bench.example",
            name=name,
            credit_limit=Decimal(credit),
        )
        Token.objects.get_or_create(user=created.user)
        return created

    customers = [customer(f"c{n}", "100000000.00") for n in range(CUSTOMERS)]
    poor = customer("poor", "1.00")
    tokens = dict(
        Token.objects.filter(user__customer__in=[*customers, poor]).values_list("user__customer__id", "key")
    )
    return Shop(skus=skus, customers=customers, poor=poor, tokens=tokens)


def order_specs(shop: Shop, workload: Workload, seed: int = 1) -> list[dict]:
    """Each order: who, what, where. A share goes to the hot product; a share fails, half
    declined (a customer with no credit), half undeliverable (country XX)."""
    pick = random.Random(seed)
    specs = []
    for index in range(workload.orders):
        others = shop.skus[1:] or shop.skus
        skus = pick.sample(others, k=min(workload.lines, len(others)))
        if pick.random() < workload.hot_share:
            skus = [shop.skus[0], *skus[: workload.lines - 1]] if shop.skus[0] not in skus else skus
        failing = pick.random() < workload.failure_share
        customer = shop.poor if failing and index % 2 == 0 else shop.customers[index % len(shop.customers)]
        country = "XX" if failing and index % 2 == 1 else "GB"
        specs.append(
            {
                "customer": customer,
                "token": shop.tokens[customer.pk],
                "items": [{"sku": sku, "quantity": 1} for sku in skus],
                "address": {**ADDRESS, "country": country},
            }
        )
    return specs


class Clients:
    """``concurrency`` client processes, started and warmed up before the clock runs.

    Processes, not threads: a client thread that has just taken the event log's append lock
    would wait for the interpreter lock of a busy benchmark process while holding it, and every
    worker would queue behind it. Spawned, not forked: the benchmark process has threads.
    """

    def __init__(self, workload: Workload):
        self.workload = workload
        self.pool = ProcessPoolExecutor(
            max_workers=workload.concurrency,
            mp_context=multiprocessing.get_context("spawn"),
            # Before anything that imports models is unpickled in the child.
            initializer=django.setup,
        )

    def __enter__(self):
        list(self.pool.map(_client_warm_up, range(self.workload.concurrency * 4)))
        return self

    def __exit__(self, *exc):
        self.pool.shutdown()

    def place_all(self, specs: list[dict]) -> list[float]:
        """Send every order; return each command's latency in seconds. With ``rps`` set the load
        is open-loop: orders are due on a fixed schedule, and latency counts from when each was
        due, so time spent waiting for a free client is part of it."""
        workload = self.workload
        if not workload.rps:
            return list(self.pool.map(_place, specs, repeat(workload), repeat(None)))
        began, pending = time.time(), []
        for index, spec in enumerate(specs):
            due = began + index / workload.rps
            delay = due - time.time()
            if delay > 0:
                time.sleep(delay)
            pending.append(self.pool.submit(_place, spec, workload, due))
        return [future.result() for future in pending]


def _client_warm_up(_: int) -> None:
    # Long enough that every process takes some, so all have started and imported Django.
    time.sleep(0.05)


def _place(spec: dict, workload: Workload, due: float | None) -> float:
    started = due or time.time()
    _sender(workload)(spec)
    return time.time() - started


def _sender(workload: Workload):
    if workload.mode == "direct":

        def direct(spec: dict) -> None:
            order_place(customer_id=spec["customer"].pk, items=spec["items"], address=spec["address"])

        return direct

    def over_http(spec: dict) -> None:
        body = json.dumps({"items": spec["items"], "shipping_address": spec["address"]}).encode()
        request = urllib.request.Request(
            f"{workload.url}/api/orders/",
            data=body,
            method="POST",
            headers={"Content-Type": "application/json", "Authorization": f"Token {spec['token']}"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            if response.status != 202:
                raise RuntimeError(f"order refused: {response.status}")

    return over_http
