"""The whole system as separate processes on private ports, driven over HTTP like a client."""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from ..processes import (
    ROOT,
    ManagedProcess,
    free_port,
    start_beat,
    start_worker,
    stop_together,
    wait_for,
    wait_until_ready,
)
from .servers import PrivatePostgres, PrivateRedis

BIN = Path(sys.executable).parent
STAFF = ("operator", "operator-pass-123")
ADDRESS = {"name": "Grace", "line1": "1 Harbour St", "city": "Leeds", "postal_code": "LS1", "country": "GB"}
TERMINAL = ("COMPLETED", "COMPENSATED", "FAILED")

# Short clocks so that a lost message is noticed within seconds; the bound on recovery a test
# states is derived from them.
TIMINGS = {
    "SAGA_STEP_DEADLINE_SECONDS": "20",
    "SAGA_SWEEP_INTERVAL_SECONDS": "1",
    "SAGA_STEP_MAX_ATTEMPTS": "10",
    "SAGA_COMPENSATION_MAX_ATTEMPTS": "12",
    "SAGA_RETRY_BASE_DELAY_SECONDS": "0.1",
    "CELERY_VISIBILITY_TIMEOUT": "25",
    "READMODELS_CATCH_UP_SECONDS": "1",
}
RECOVERY_BOUND_SECONDS = 180


@dataclass
class Answer:
    status: int
    body: dict | list | None
    headers: dict = field(default_factory=dict)


class System:
    def __init__(
        self, root: Path, postgres: PrivatePostgres, redis: PrivateRedis, database: str, static_root: Path
    ):
        self.root = root
        self.static_root = static_root
        self.postgres = postgres
        self.redis = redis
        self.database = database
        self.port = free_port()
        self.web: ManagedProcess | None = None
        self.workers: list[ManagedProcess] = []
        self.beat: ManagedProcess | None = None
        self._worker_count = 0
        self.staff_token = ""

    # --- processes ---------------------------------------------------------------------------

    @property
    def env(self) -> dict[str, str]:
        inherited = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("DJANGO_", "SAGA_", "READMODELS_", "CELERY_"))
            and key not in {"DATABASE_URL", "READ_DATABASE_URL", "TEST_DATABASE_NAMES", "CI"}
        }
        return {
            **inherited,
            **TIMINGS,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DATABASE_URL": self.postgres.url(self.database),
            "READ_DATABASE_URL": self.postgres.url(f"{self.database}_read"),
            "CELERY_BROKER_URL": self.redis.url(),
            "DJANGO_SECRET_KEY": "fault-suite-only-secret-key-0123456789-abcdefghijklmnop",
            "DJANGO_DEBUG": "false",
            "DJANGO_HTTPS": "false",
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SAGA_FAILPOINTS_ENABLED": "true",
            "AUTH_THROTTLE_RATE": "100000/minute",
            "APP_VAR_DIR": str(self.root / "var"),
            "DJANGO_STATIC_ROOT": str(self.static_root),
            "PYTHONUNBUFFERED": "1",
        }

    def manage(
        self, *args: str, check: bool = True, extra_env: dict | None = None
    ) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env={**self.env, **(extra_env or {})},
            capture_output=True,
            text=True,
            timeout=300,
            check=check,
        )

    def start(self, *, workers: int = 2, web_workers: int = 3) -> None:
        self.web = ManagedProcess(
            "web",
            [
                str(BIN / "gunicorn"),
                "config.wsgi",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                str(web_workers),
                "--timeout",
                "60",
                "--graceful-timeout",
                "5",
            ],
            self.env,
        )
        for _ in range(workers):
            self.start_worker()
        self.beat = start_beat(self.env, self.root)
        wait_for(
            lambda: self.get("/healthz").status == 200,
            timeout=60,
            what="the web process",
            processes=self.processes,
        )
        for worker in self.workers:
            wait_until_ready(worker, broker_url=self.redis.url())

    def start_worker(self) -> ManagedProcess:
        self._worker_count += 1
        name = f"worker{self._worker_count}"
        worker = start_worker(self.env, name=name)
        self.workers.append(worker)
        return worker

    def kill_worker(self, worker: ManagedProcess) -> None:
        """kill -9 the worker and its pool children, as a lost machine would."""
        os.killpg(worker.process.pid, signal.SIGKILL)
        worker.process.wait(10)
        self.workers.remove(worker)

    @property
    def processes(self) -> tuple[ManagedProcess, ...]:
        return tuple(p for p in (self.web, *self.workers, self.beat) if p is not None)

    def stop(self) -> None:
        stop_together(list(self.processes), timeout=10)

    # --- HTTP --------------------------------------------------------------------------------

    def request(self, method: str, path: str, body=None, *, token: str | None = None, headers=None) -> Answer:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", data=data, method=method)
        request.add_header("Content-Type", "application/json")
        if token:
            request.add_header("Authorization", f"Token {token}")
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return Answer(response.status, _json(response.read()), dict(response.headers))
        except urllib.error.HTTPError as error:
            return Answer(error.code, _json(error.read()), dict(error.headers))

    def admin_session(self) -> urllib.request.OpenerDirector:
        """A browser-like client logged into the admin (cookies and CSRF token)."""
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        login = f"http://127.0.0.1:{self.port}/admin/login/"
        page = opener.open(login, timeout=30).read().decode()
        csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        form = urllib.parse.urlencode(
            {"csrfmiddlewaretoken": csrf, "username": STAFF[0], "password": STAFF[1], "next": "/admin/"}
        ).encode()
        request = urllib.request.Request(login, data=form, headers={"Referer": login})
        with opener.open(request, timeout=30) as response:
            assert response.url.endswith("/admin/"), response.url
        return opener

    def get(self, path: str, **options) -> Answer:
        return self.request("GET", path, **options)

    def post(self, path: str, body=None, **options) -> Answer:
        return self.request("POST", path, body, **options)

    # --- the shop ----------------------------------------------------------------------------

    def prepare(self) -> None:
        """Fresh databases from the migrated template, a staff user and a token."""
        self.staff_token = self.post("/api/auth/token/", {"username": STAFF[0], "password": STAFF[1]}).body[
            "token"
        ]

    def add_product(self, sku: str, *, price: str = "10.00", stock: int = 100) -> None:
        answer = self.post(
            "/api/products/",
            {"sku": sku, "name": sku, "price": price, "stock": stock},
            token=self.staff_token,
        )
        assert answer.status == 201, answer

    def add_customer(self, username: str, *, credit: str = "100000.00") -> dict:
        password = f"{username}-pass-123"
        created = self.post(
            "/api/customers/",
            {
                "username": username,
                "password": password,
                "email": f"{username}@example.com",
                "name": username,
                "credit_limit": credit,
            },
            token=self.staff_token,
        )
        assert created.status == 201, created
        token = self.post("/api/auth/token/", {"username": username, "password": password}).body["token"]
        return {**created.body, "token": token}

    def place(
        self, customer: dict, items: list[tuple[str, int]], *, country: str = "GB", key: str | None = None
    ) -> Answer:
        body = {
            "items": [{"sku": sku, "quantity": quantity} for sku, quantity in items],
            "shipping_address": {**ADDRESS, "country": country},
        }
        headers = {"Idempotency-Key": key} if key else None
        return self.post("/api/orders/", body, token=customer["token"], headers=headers)

    def place_many(self, orders: list[tuple[dict, list, str]], *, concurrency: int = 8) -> list[Answer]:
        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            return list(pool.map(lambda order: self.place(order[0], order[1], country=order[2]), orders))

    # --- observing ---------------------------------------------------------------------------

    def saga_counts(self) -> dict[str, int]:
        return {
            state: self.get(f"/api/sagas/?state={state}&page_size=1", token=self.staff_token).body["count"]
            for state in ("RUNNING", "COMPENSATING", "COMPLETED", "COMPENSATED", "FAILED")
        }

    def settled(self) -> bool:
        health = self.get("/healthz")
        if health.status != 200:
            return False
        counts = self.saga_counts()
        caught_up = all(p["events_behind"] == 0 for p in health.body["projection"]["projectors"].values())
        return counts["RUNNING"] == 0 and counts["COMPENSATING"] == 0 and caught_up

    def wait_until_settled(self, *, timeout: float = RECOVERY_BOUND_SECONDS) -> float:
        """Seconds until every saga ended and projection caught up; fails past ``timeout``."""
        started = time.monotonic()
        wait_for(
            self.settled, timeout=timeout, interval=0.5, what="every saga to end", processes=self.processes
        )
        return round(time.monotonic() - started, 1)

    def check_invariants(self) -> str:
        result = self.manage("check_invariants", check=False)
        assert result.returncode == 0, f"invariants violated:\n{result.stdout}\n{result.stderr}"
        return result.stdout

    def redelivered(self) -> int:
        """Command sends beyond the first, over every saga step: what recovery cost."""
        total, page = 0, "/api/sagas/?page_size=100"
        while page:
            answer = self.get(page, token=self.staff_token).body
            total += sum(max(step["attempts"] - 1, 0) for saga in answer["results"] for step in saga["steps"])
            page = answer["next"] and answer["next"].split(str(self.port), 1)[1]
        return total

    def rescued_events(self) -> int:
        """Event applications the periodic catch-up made because live projection had not."""
        projectors = self.get("/healthz").body["projection"]["projectors"]
        return sum(projector["rescued_events"] for projector in projectors.values())

    def orders_by_status(self) -> dict[str, int]:
        return {
            status: self.get(f"/api/orders/?status={status}&page_size=1", token=self.staff_token).body[
                "count"
            ]
            for status in ("PENDING", "CONFIRMED", "REJECTED", "CANCELLING", "CANCELLED", "SHIPPED")
        }


def _json(raw: bytes):
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None
