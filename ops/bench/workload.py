"""What the benchmark asks of the system: a shop, and orders from concurrent clients."""

from __future__ import annotations

import json
import random
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal

from django.db import connections
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


def place_all(specs: list[dict], workload: Workload) -> list[float]:
    """Send every order; return each command's latency in seconds. With ``rps`` set the load is
    open-loop: orders start on a fixed schedule whatever the answers take."""
    send = _sender(workload)
    latencies: list[float] = []
    lock = threading.Lock()

    def one(spec: dict) -> None:
        started = time.perf_counter()
        try:
            send(spec)
        finally:
            connections.close_all()
        with lock:
            latencies.append(time.perf_counter() - started)

    with ThreadPoolExecutor(max_workers=workload.concurrency) as pool:
        if workload.rps:
            began = time.perf_counter()
            for index, spec in enumerate(specs):
                delay = began + index / workload.rps - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
                pool.submit(one, spec)
        else:
            list(pool.map(one, specs))
    return latencies


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
