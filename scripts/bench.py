"""Round trips and latency of the taught database layers, against the raw asyncpg floor.

    python scripts/bench.py [--requests N] [--json FILE] [--counts-only]

Each variant is served by uvicorn on 127.0.0.1 from the code the plugin teaches (written out
of the references by the same functions the tests use), with its database reached through
its own pgwire_proxy.Proxy on 127.0.0.1. For three endpoints (GET by id, a list of 20, a POST
of one row) it counts the round trips of a warm request, deterministically; then it times
requests on loopback and at an injected 1 ms round trip, all variants interleaved, and gives
each p50 as a ratio to the floor's. Needs TEST_POSTGRES_URL (scripts/servers.sh writes it).

Latencies are reported, never asserted; tests/test_bench.py asserts the round-trip counts.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy.engine import URL, make_url

sys.path.insert(0, str(Path(__file__).resolve().parent))
import pgwire_proxy  # noqa: E402
import snippets  # noqa: E402
from snippets.database import run_admin  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
PRODUCT = ROOT / "skills" / "async-db-layer" / "scripts"
APPS = Path(__file__).resolve().parent / "bench_apps"
ENDPOINTS = ("get", "list", "post")


@dataclass
class Variant:
    name: str
    prepare: Callable[[Path], str]  # writes the project into a folder; returns the ASGI app path
    paths: dict[str, str]  # get, list: paths; post: path
    body: Callable[[int], dict]  # the POST body for the n-th row
    floor: bool = False
    env: dict[str, str] = field(default_factory=dict)
    create_tables: str = ""  # Python run in the project once it is written


SQLMODEL_TABLES = """
import asyncio, app.models
from app.database import create_db_and_tables
asyncio.run(create_db_and_tables())
"""
ORM_TABLES = """
import asyncio
from app.database import engine
from app.models import Base

async def create():
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    await engine.dispose()

asyncio.run(create())
"""


def prepare_floor(folder: Path) -> str:
    (folder / "raw_asyncpg.py").write_text((APPS / "raw_asyncpg.py").read_text())
    return "raw_asyncpg:app"


def prepare_layer(folder: Path) -> str:
    done = subprocess.run(
        [sys.executable, str(PRODUCT / "scaffold_db.py"), "postgres"]
        + ["--project", str(folder), "--package", "benchdb", "--no-migrations"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr)
    (folder / "layer_app.py").write_text((APPS / "layer_app.py").read_text())
    return "layer_app:app"


def prepare_document(rel: str) -> Callable[[Path], str]:
    def prepare(folder: Path) -> str:
        doc = snippets.parse_document(ROOT / rel)
        snippets.materialize(doc, "postgres", folder.resolve())
        return "app.main:app"

    return prepare


def item(n: int) -> dict:
    return {"name": f"item-{n}"}


def user(n: int) -> dict:
    return {"email": f"user{n}@example.com", "name": f"User {n}", "password": "a long passphrase"}


def sqlmodel_user(n: int) -> dict:
    return {"email": f"user{n}@example.com", "full_name": f"User {n}", "password": "a passphrase!"}


VARIANTS = [
    Variant(
        "raw asyncpg pool (floor)",
        prepare_floor,
        {"get": "/items/{id}", "list": "/items?limit=20", "post": "/items"},
        item,
        floor=True,
    ),
    Variant(
        "db/ layer (scaffold)",
        prepare_layer,
        {"get": "/items/{id}", "list": "/items?limit=20", "post": "/items"},
        item,
    ),
    Variant(
        "async-sqlalchemy fastapi-app.md",
        prepare_document("skills/async-sqlalchemy/references/fastapi-app.md"),
        {"get": "/users/{id}", "list": "/users?limit=20", "post": "/users"},
        user,
        create_tables=ORM_TABLES,
    ),
    Variant(
        "async-sqlmodel ServiceBase app",
        prepare_document("skills/async-sqlmodel/references/fastapi-integration.md"),
        {"get": "/users/{id}", "list": "/users?limit=20", "post": "/users"},
        sqlmodel_user,
        create_tables=SQLMODEL_TABLES,
    ),
]


# --- the proxies run in a thread of their own, with their own event loop --------------------


class Proxies:
    def __init__(self, host: str, port: int) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.upstream = (host, port)
        self.proxies: list[pgwire_proxy.Proxy] = []

    def new(self) -> pgwire_proxy.Proxy:
        proxy = pgwire_proxy.Proxy(*self.upstream)
        asyncio.run_coroutine_threadsafe(proxy.start(), self.loop).result(10)
        self.proxies.append(proxy)
        return proxy

    def set_delay(self, round_trip: float) -> None:
        for proxy in self.proxies:
            proxy.delay = round_trip

    def added_round_trip_ms(self, tries: int = 200) -> float:
        """What the current delay really adds to one round trip (SELECT 1 on asyncpg)."""
        import asyncpg

        probe = self.new()
        probe.delay = self.proxies[0].delay
        server = make_url(os.environ["TEST_POSTGRES_URL"])

        async def measure(delay: float) -> float:
            probe.delay = delay
            conn = await asyncpg.connect(
                user=server.username,
                password=server.password,
                host="127.0.0.1",
                port=probe.port,
                database="postgres",
            )
            try:
                times = []
                for _ in range(tries):
                    start = time.perf_counter()
                    await conn.execute("SELECT 1")
                    times.append(time.perf_counter() - start)
                return statistics.median(times) * 1000
            finally:
                await conn.close()

        delay = self.proxies[0].delay
        added = asyncio.run(measure(delay)) - asyncio.run(measure(0.0))
        self.proxies.remove(probe)
        asyncio.run_coroutine_threadsafe(probe.stop(), self.loop).result(10)
        return added

    def close(self) -> None:
        for proxy in self.proxies:
            asyncio.run_coroutine_threadsafe(proxy.stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


# --- one served variant -------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def admin(url: URL, *statements: str) -> None:
    """Statements on the server's `postgres` database (the snippet runner's helper)."""
    run_admin(url.render_as_string(hide_password=False), *statements)


@dataclass
class Served:
    variant: Variant
    proxy: pgwire_proxy.Proxy
    process: subprocess.Popen
    client: httpx.Client
    database: str
    folder: tempfile.TemporaryDirectory
    next_row: int = 0
    an_id: int = 1

    def request(self, endpoint: str) -> httpx.Response:
        path = self.variant.paths[endpoint].replace("{id}", str(self.an_id))
        if endpoint == "post":
            self.next_row += 1
            response = self.client.post(path, json=self.variant.body(self.next_row))
        else:
            response = self.client.get(path)
        if response.status_code >= 400:
            raise RuntimeError(f"{self.variant.name} {endpoint}: {response.status_code}")
        return response

    def round_trips(self, endpoint: str) -> int:
        before = self.proxy.round_trips
        self.request(endpoint)
        return self.proxy.round_trips - before

    def stop(self) -> None:
        self.client.close()
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.folder.cleanup()


def run_in(folder: str, code: str, env: dict[str, str]) -> None:
    subprocess.run([sys.executable, "-c", code], cwd=folder, env=env, check=True, timeout=120)


def start_server(app: str, folder: str, env: dict[str, str]) -> tuple[subprocess.Popen, str]:
    """uvicorn serving `app` from `folder` on a free loopback port; (process, base URL)."""
    port = free_port()
    log = Path(folder) / "server.log"  # a file, not a pipe: a full pipe would stall the server
    with log.open("w") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", app, "--port", str(port), "--log-level", "warning"],
            cwd=folder,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=sink,
        )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(f"{base}/openapi.json", timeout=5)
            return process, base
        except httpx.TransportError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError(f"{app} did not start: {log.read_text()[-3000:]}") from None
            time.sleep(0.1)


def serve(variant: Variant, proxies: Proxies, server: URL, index: int) -> Served:
    folder = tempfile.TemporaryDirectory(prefix="bench-")
    app = variant.prepare(Path(folder.name))
    database = f"bench_{index}_{os.getpid()}"
    admin(
        server,
        f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)',
        f'CREATE DATABASE "{database}"',
    )
    proxy = proxies.new()
    url = server.set(drivername="postgresql+asyncpg", host="127.0.0.1", port=proxy.port)
    url = url.set(database=database).render_as_string(hide_password=False)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DB_", "DATABASE_URL"))}
    env |= {"DATABASE_URL": url, "PYTHONPATH": folder.name} | variant.env
    process, base = start_server(app, folder.name, env)
    client = httpx.Client(base_url=base, timeout=30)
    served = Served(variant, proxy, process, client, database, folder)
    if variant.create_tables:
        run_in(folder.name, variant.create_tables, env)
    first = served.request("post").json()
    served.an_id = first["id"]
    for _ in range(29):
        served.request("post")
    return served


# --- measuring ----------------------------------------------------------------------------


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


def table(result: dict) -> str:
    floor = next(v.name for v in VARIANTS if v.floor)
    lines = [
        "round trips per warm request (counted at the wire)",
        "| variant | GET by id | list of 20 | POST |",
        "| --- | --- | --- | --- |",
    ]
    for name, counts in result["round_trips"].items():
        lines.append(f"| {name} | {counts['get']} | {counts['list']} | {counts['post']} |")
    lines += [
        "",
        f"check_database() on a fresh engine: {result['startup_round_trips']} round trips",
    ]
    for label, by_variant in result["latency_ms"].items():
        base = by_variant[floor]
        injected = result.get("injected_round_trip_ms", 0)
        where = f"an injected 1 ms round trip (measured: +{injected:.2f} ms)"
        lines += [
            "",
            f"latency at {where if label == '1ms' else 'loopback'}, ms (ratio of p50 to the floor)",
            "| variant | GET p50 | GET p99 | list p50 | list p99 |",
            "| --- | --- | --- | --- | --- |",
        ]
        for name, t in by_variant.items():
            ratio_get = t["get"]["p50"] / base["get"]["p50"]
            ratio_list = t["list"]["p50"] / base["list"]["p50"]
            lines.append(
                f"| {name} | {t['get']['p50']:.2f} ({ratio_get:.2f}x) | {t['get']['p99']:.2f} "
                f"| {t['list']['p50']:.2f} ({ratio_list:.2f}x) | {t['list']['p99']:.2f} |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=200, help="timed requests per endpoint")
    parser.add_argument("--json", metavar="FILE", help="also write the result as JSON")
    parser.add_argument("--counts-only", action="store_true", help="round trips, no timing")
    args = parser.parse_args(argv)
    if not os.environ.get("TEST_POSTGRES_URL"):
        print("bench.py: set TEST_POSTGRES_URL (scripts/bench.sh starts a server)", file=sys.stderr)
        return 2
    result = run(args.requests, args.counts_only)
    print(table(result))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
