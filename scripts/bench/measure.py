"""Round trips counted at the wire and requests timed, all variants interleaved."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy.engine import URL, make_url

from .proxies import Proxies
from .serve import Served, admin, serve
from .variants import ENDPOINTS, VARIANTS, prepare_layer


def count_round_trips(served: list[Served], repeat: int = 5) -> dict[str, dict[str, list[int]]]:
    counts: dict[str, dict[str, list[int]]] = {}
    for one in served:
        for endpoint in ENDPOINTS:
            for _ in range(3):  # warm: pool filled, statements prepared
                one.request(endpoint)
            runs = [one.round_trips(endpoint) for _ in range(repeat)]
            counts.setdefault(one.variant.name, {})[endpoint] = runs
    return counts


def time_requests(served: list[Served], requests: int) -> dict[str, dict[str, list[float]]]:
    """Milliseconds per request, the variants interleaved request by request."""
    times: dict[str, dict[str, list[float]]] = {s.variant.name: {} for s in served}
    for n in range(requests):
        for one in served[n % len(served) :] + served[: n % len(served)]:
            for endpoint in ("get", "list"):
                start = time.perf_counter()
                one.request(endpoint)
                elapsed = (time.perf_counter() - start) * 1000
                times[one.variant.name].setdefault(endpoint, []).append(elapsed)
    return times


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def startup_round_trips(proxies: Proxies, server: URL) -> int:
    """check_database() on a fresh engine of the scaffolded layer: login, SQLAlchemy's
    first-connect queries and the SELECT 1."""
    with tempfile.TemporaryDirectory(prefix="bench-") as folder:
        prepare_layer(Path(folder))
        proxy = proxies.new()
        url = server.set(drivername="postgresql+asyncpg", host="127.0.0.1", port=proxy.port)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DB_", "DATABASE_URL"))}
        env |= {"DATABASE_URL": url.render_as_string(hide_password=False), "PYTHONPATH": folder}
        check = "import asyncio, benchdb; asyncio.run(benchdb.check_database())"
        subprocess.run([sys.executable, "-c", check], cwd=folder, env=env, check=True)
        return proxy.round_trips


def run(requests: int, counts_only: bool, names: list[str] | None = None) -> dict:
    server = make_url(os.environ["TEST_POSTGRES_URL"])
    proxies = Proxies(server.host, server.port)
    served: list[Served] = []
    result: dict = {"round_trips": {}, "latency_ms": {}}
    try:
        chosen = [v for v in VARIANTS if not names or v.name in names or v.floor]
        for index, variant in enumerate(chosen):
            served.append(serve(variant, proxies, server, index))
        result["round_trips"] = {
            name: {e: max(runs) for e, runs in by_endpoint.items()}
            for name, by_endpoint in count_round_trips(served).items()
        }
        result["startup_round_trips"] = startup_round_trips(proxies, server)
        if not counts_only:
            for label, round_trip in (("loopback", 0.0), ("1ms", 0.001)):
                proxies.set_delay(round_trip)
                if round_trip:
                    result["injected_round_trip_ms"] = proxies.added_round_trip_ms()
                times = time_requests(served, requests)
                result["latency_ms"][label] = {
                    name: {
                        e: {"p50": statistics.median(v), "p99": percentile(v, 0.99)}
                        for e, v in by_endpoint.items()
                    }
                    for name, by_endpoint in times.items()
                }
            proxies.set_delay(0)
    finally:
        for one in served:
            one.stop()
            try:
                admin(server, f'DROP DATABASE IF EXISTS "{one.database}" WITH (FORCE)')
            except Exception:  # the bench's result matters more than a leftover database
                pass
        proxies.close()
    return result
