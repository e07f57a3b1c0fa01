"""Query-side load: many clients reading orders from the read models through gunicorn.

wrk generates the load when it is installed (``apt install wrk``): a C client leaves the two
cores to the server. Without it, keep-alive Python clients do, and take CPU from the server.
"""

from __future__ import annotations

import http.client
import re
import shutil
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlparse

from .measure import summary_ms

WRK_SCRIPT = """
paths = {%(paths)s}
counter = 0
request = function()
  counter = counter + 1
  return wrk.format("GET", paths[(counter %% #paths) + 1], {["Authorization"] = "Token %(token)s"})
end
"""
WRK_RATE = 500  # requests per second assumed to size a run of ``requests`` requests


def read_load(*, url: str, token: str, paths: list[str], requests: int, concurrency: int) -> dict:
    """About ``requests`` GETs spread over ``paths`` from ``concurrency`` keep-alive clients."""
    if shutil.which("wrk"):
        return _with_wrk(url, token, paths, seconds=max(requests / WRK_RATE, 3), connections=concurrency)
    return _with_python(url, token, paths, requests, concurrency)


def _with_wrk(url: str, token: str, paths: list[str], *, seconds: float, connections: int) -> dict:
    script = WRK_SCRIPT % {"paths": ", ".join(f'"{path}"' for path in paths), "token": token}
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as file:
        file.write(script)
        file.flush()
        output = subprocess.run(
            ["wrk", "--latency", "-t2", f"-c{connections}", f"-d{seconds:.0f}s", "-s", file.name, url],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    percentiles = dict(re.findall(r"^\s+(50|99)%\s+([\d.]+\w+)$", output, re.MULTILINE))
    total = int(re.search(r"(\d+) requests in", output).group(1))
    failed = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(r"Socket errors: (.*)$", output, re.MULTILINE)
    return {
        "client": f"wrk, {connections} connections",
        "requests": total,
        "requests_per_second": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
        "latency_ms": {"p50": _ms(percentiles["50"]), "p99": _ms(percentiles["99"])},
        "errors": int(failed.group(1)) if failed else 0,
        "socket_errors": socket_errors.group(1) if socket_errors else "",
    }


def _ms(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value).groups()
    return round(float(number) * {"us": 0.001, "ms": 1, "s": 1000, "m": 60000}[unit], 2)


def _with_python(url: str, token: str, paths: list[str], requests: int, concurrency: int) -> dict:
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
        "client": f"python http.client, {concurrency} threads",
        "requests": len(latencies),
        "requests_per_second": round(len(latencies) / elapsed, 1),
        "latency_ms": summary_ms(latencies),
        "errors": sum(result[1] for result in results),
    }
