"""Round trips, counted at the wire: every taught app answers a warm read in one round trip
and a write of one row in at most three (scripts/bench/ serves them; pgwire_proxy counts),
and the transaction-pooler path is safe and leaves no prepared statement behind.

Counts only: latency is measured by scripts/bench.sh and reported, never asserted here.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import bench
import pgwire_proxy
import pytest
from conftest import PRODUCT, ROOT, postgres_admin, server_url

TAUGHT = [v.name for v in bench.VARIANTS if not v.floor]


@pytest.fixture(scope="module")
def counts() -> dict[str, dict[str, int]]:
    if not os.environ.get("TEST_POSTGRES_URL"):
        server_url("postgres")
    return bench.run(requests=0, counts_only=True)["round_trips"]


def test_the_counter_sees_the_floor(counts) -> None:
    """Raw asyncpg: the statement, then the pool's reset on release."""
    floor = next(v.name for v in bench.VARIANTS if v.floor)
    assert counts[floor] == {"get": 2, "list": 2, "post": 2}, counts[floor]


@pytest.mark.parametrize("variant", TAUGHT)
def test_taught_variant_is_at_the_floor(counts, variant: str) -> None:
    got = counts[variant]
    assert got["get"] == 1 and got["list"] == 1, got
    assert got["post"] <= 3, got  # BEGIN, INSERT ... RETURNING, COMMIT


def test_proxy_counts_round_trips_not_messages() -> None:
    """A new statement is two round trips on asyncpg (prepare, then execute), a cached one
    is one; a simple query is one."""
    if not os.environ.get("TEST_POSTGRES_URL"):
        server_url("postgres")
    from sqlalchemy.engine import make_url

    server = make_url(os.environ["TEST_POSTGRES_URL"])

    async def run() -> list[int]:
        import asyncpg

        proxy = pgwire_proxy.Proxy(server.host, server.port)
        await proxy.start()
        conn = await asyncpg.connect(
            user=server.username,
            password=server.password,
            host="127.0.0.1",
            port=proxy.port,
            database="postgres",
        )
        used = []
        for call in (
            lambda: conn.execute("SELECT 1"),
            lambda: conn.fetchval("SELECT $1::int", 1),
            lambda: conn.fetchval("SELECT $1::int", 2),
        ):
            before = proxy.round_trips
            await call()
            used.append(proxy.round_trips - before)
        statements = proxy.statements
        await conn.close()
        await proxy.stop()
        return [*used, statements]

    simple, new, cached, statements = asyncio.run(run())
    assert (simple, new, cached) == (1, 2, 1)
    assert statements >= 2  # the Query and the Parse were seen


def test_transaction_pooler_path(tmp_path: Path) -> None:
    """The Supabase connector through PgBouncer in transaction mode, with TLS."""
    if not os.environ.get("TEST_PGBOUNCER_URL"):
        server_url("pgbouncer")
    done = subprocess.run(
        [sys.executable, str(PRODUCT / "scaffold_db.py"), "supabase"]
        + ["--project", str(tmp_path), "--no-migrations"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    database = f"pooler_{os.getpid()}"
    postgres_admin(
        f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)', f'CREATE DATABASE "{database}"'
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DB_", "DATABASE_URL"))}
    env |= {"POOLER_DATABASE": database, "PYTHONPATH": f"{tmp_path}{os.pathsep}{ROOT / 'scripts'}"}
    ran = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "pooler_exercise.py")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    postgres_admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    assert ran.returncode == 0, ran.stdout + ran.stderr[-4000:]
    seen = dict(line.split(": ", 1) for line in ran.stdout.splitlines() if ": " in line)
    assert int(seen["layer read round trips"]) <= int(seen["raw asyncpg read round trips"]) + 1
    assert seen["errors in 1000 concurrent reads"] == "0"
    assert seen["named statements left"] == "0"
    assert int(seen["named statements left by the control"]) >= 1  # the check can see them
