"""Query-side load: many clients reading orders from the read models through gunicorn."""

from __future__ import annotations

import http.client
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlparse

from .measure import summary_ms


def read_load(*, url: str, token: str, paths: list[str], requests: int, concurrency: int) -> dict:
    """``requests`` GETs spread over ``paths`` from ``concurrency`` keep-alive clients."""
    target = urlparse(url)
    per_client = max(requests // concurrency, 1)

    def client(index: int) -> tuple[list[float], int]:
        connection = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
        latencies, errors = [], 0
        for n in range(per_client):
            started = time.perf_counter()
            connection.request(
                "GET", paths[(index + n) % len(paths)], headers={"Authorization": f"Token {token}"}
            )
            response = connection.getresponse()
            response.read()
            latencies.append(time.perf_counter() - started)
            errors += response.status != 200
        connection.close()
        return latencies, errors

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        results = list(pool.map(client, range(concurrency)))
    elapsed = time.perf_counter() - started
    latencies = [latency for result in results for latency in result[0]]
    return {
        "requests": len(latencies),
        "requests_per_second": round(len(latencies) / elapsed, 1),
        "latency_ms": summary_ms(latencies),
        "errors": sum(result[1] for result in results),
    }
