"""Write-then-read clients against a primary and a streaming replica whose replay is paused
and resumed at random; run by scripts/bench_replicas.py inside a project where
`scaffold_db.py --replicas` wrote `db/`, one routing per run (MODE):

    position  the layer as taught: a write hands back its WAL position (ReadYourWrites), the
              client's reads bring it back and read a replica past it, or the primary
    sticky    the comparison (Rails' automatic role switching): a client's reads go to the
              primary for STICKY seconds after its write (a cookie with the time), then to
              a replica, whatever it has replayed
    primary   no replica configured: every read on the primary

Each client has its own cookies. It writes a row, then reads it READS times at random moments
within READ_SPREAD seconds of the write: a read that does not find the row is stale. Between
them, a client that never wrote reads a row (no position: any replica within the lag bound).
Round trips are counted at the wire by scripts/pgwire_proxy.py in front of each server; the
replay of the replica is paused and resumed on a direct connection, not counted.

Prints one JSON object.
"""

import asyncio
import json
import os
import random
import statistics
import time
from typing import Annotated, Any

import asyncpg
import httpx
import pgwire_proxy
from pg_direct import connect as direct
from sqlalchemy.engine import make_url

MODE = os.environ["MODE"]
CLIENTS = int(os.environ.get("CLIENTS", "16"))
SECONDS = float(os.environ.get("SECONDS", "20"))
READS = int(os.environ.get("READS", "3"))
READ_SPREAD = float(os.environ.get("READ_SPREAD", "4"))
STICKY = float(os.environ.get("STICKY", "2"))
SEED = int(os.environ.get("SEED", "1"))
PAUSE = (0.5, 4.0)  # seconds paused, uniform: longer than STICKY, within DB_REPLICA_MAX_LAG
RESUME = (0.2, 1.5)  # seconds replaying, uniform


def make_app() -> Any:
    import db
    from db.core.engine import replica_router
    from db.core.replicas import ReadYourWrites
    from db.session.dependencies import DBSession, ReadSession
    from fastapi import Depends, FastAPI, Request, Response
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import AsyncSession

    async def sticky_session(request: Request) -> Any:
        """Rails' rule: the primary for STICKY seconds after this client's last write."""
        router = replica_router()
        wrote = request.cookies.get("wrote_at")
        if wrote is not None and time.time() - float(wrote) < STICKY:
            session = router.primary_sessions()
        else:
            session = await router.read_session(None)
        async with session:
            yield session

    read = Annotated[AsyncSession, Depends(sticky_session)] if MODE == "sticky" else ReadSession
    app = FastAPI()
    db.add_database_errors(app)
    app.add_middleware(ReadYourWrites)

    @app.post("/rows", status_code=201)
    async def add(response: Response, session: DBSession) -> dict:
        added = await session.execute(text("INSERT INTO bench_rows DEFAULT VALUES RETURNING id"))
        response.set_cookie("wrote_at", str(time.time()))
        return {"id": added.scalar_one()}

    @app.get("/rows/{row_id}")
    async def get(row_id: int, session: read) -> dict:  # type: ignore[valid-type]
        sql = "SELECT EXISTS (SELECT FROM bench_rows WHERE id = :i), pg_is_in_recovery()"
        found, on_replica = (await session.execute(text(sql), {"i": row_id})).one()
        return {"found": found, "replica": on_replica}

    return app


class Tally:
    def __init__(self) -> None:
        self.writes = 0
        self.own_reads = 0
        self.stale = 0
        self.anonymous_reads = 0
        self.on_replica = 0
        self.on_primary = 0
        self.failed = 0
        self.latencies: list[float] = []
        self.ids: list[int] = []

    async def read(self, client: httpx.AsyncClient, row_id: int) -> dict | None:
        started = time.perf_counter()
        answer = await client.get(f"/rows/{row_id}")
        self.latencies.append(time.perf_counter() - started)
        if answer.status_code != 200:
            self.failed += 1
            return None
        body = answer.json()
        if body["replica"]:
            self.on_replica += 1
        else:
            self.on_primary += 1
        return body


async def writer(client: httpx.AsyncClient, tally: Tally, rng: random.Random, until: float):
    while time.monotonic() < until:
        made = await client.post("/rows")
        if made.status_code != 201:
            tally.failed += 1
            continue
        tally.writes += 1
        row_id = made.json()["id"]
        tally.ids.append(row_id)
        written = time.monotonic()
        for at in sorted(rng.uniform(0, READ_SPREAD) for _ in range(READS)):
            await asyncio.sleep(max(written + at - time.monotonic(), 0))
            body = await tally.read(client, row_id)
            tally.own_reads += 1
            if body is not None and not body["found"]:
                tally.stale += 1


async def stranger(client: httpx.AsyncClient, tally: Tally, rng: random.Random, until: float):
    while time.monotonic() < until:
        await asyncio.sleep(rng.uniform(0, 0.05))
        if tally.ids:
            await tally.read(client, rng.choice(tally.ids))
            tally.anonymous_reads += 1


async def pauser(replica: asyncpg.Connection, rng: random.Random, until: float) -> int:
    pauses = 0
    while time.monotonic() < until:
        await asyncio.sleep(rng.uniform(*RESUME))
        await replica.execute("SELECT pg_wal_replay_pause()")
        pauses += 1
        await asyncio.sleep(rng.uniform(*PAUSE))
        await replica.execute("SELECT pg_wal_replay_resume()")
    return pauses


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(share * len(ordered)), len(ordered) - 1)] * 1000


async def main() -> None:
    primary_url, standby_url = make_url(os.environ["PRIMARY"]), make_url(os.environ["STANDBY"])
    primary = pgwire_proxy.Proxy(primary_url.host, primary_url.port)
    standby = pgwire_proxy.Proxy(standby_url.host, standby_url.port)
    await primary.start()
    await standby.start()
    os.environ["DATABASE_URL"] = primary_url.set(port=primary.port).render_as_string(False)
    if MODE != "primary":
        os.environ["DB_REPLICA_URLS"] = standby_url.set(port=standby.port).render_as_string(False)
    os.environ["DB_POOL_SIZE"] = str(CLIENTS + 2)

    import db

    admin = await direct(os.environ["PRIMARY"])
    replica = await direct(os.environ["STANDBY"])
    await replica.execute("SELECT pg_wal_replay_resume()")
    await admin.execute("CREATE TABLE IF NOT EXISTS bench_rows (id bigserial PRIMARY KEY)")
    app = make_app()
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    clients = [httpx.AsyncClient(transport=transport, base_url="http://b") for _ in range(CLIENTS)]
    anonymous = httpx.AsyncClient(transport=transport, base_url="http://b")

    # warm: positions learned, a pooled connection per client on both servers
    for _ in range(300):
        row = (await clients[0].post("/rows")).json()["id"]
        answer = await anonymous.get(f"/rows/{row}")  # 500 until CREATE TABLE is replayed
        if MODE == "primary" or answer.status_code == 200 and answer.json()["replica"]:
            break
        await asyncio.sleep(0.02)
    else:
        raise SystemExit("the replica never served a read")
    made = await asyncio.gather(*(c.post("/rows") for c in clients))
    await asyncio.gather(
        *(c.get(f"/rows/{m.json()['id']}") for c, m in zip(clients, made, strict=True))
    )

    # a write's round trips, counted alone (the least of five: a background check may overlap)
    costs = []
    for _ in range(5):
        before = primary.round_trips
        await clients[0].post("/rows")
        costs.append(primary.round_trips - before)
    write_cost = min(costs)
    for client in clients:
        client.cookies.clear()

    rng = random.Random(SEED)
    tally = Tally()
    counted = (primary.round_trips, standby.round_trips)
    until = time.monotonic() + SECONDS
    pausing = asyncio.create_task(pauser(replica, random.Random(SEED + 1), until))
    await asyncio.gather(
        *(writer(c, tally, random.Random(rng.random()), until) for c in clients),
        stranger(anonymous, tally, random.Random(rng.random()), until),
    )
    pauses = await pausing
    await replica.execute("SELECT pg_wal_replay_resume()")
    on_primary = primary.round_trips - counted[0]
    on_standby = standby.round_trips - counted[1]
    reads = tally.own_reads + tally.anonymous_reads
    print(
        json.dumps(
            {
                "mode": MODE,
                "clients": CLIENTS,
                "seconds": SECONDS,
                "pauses": pauses,
                "writes": tally.writes,
                "reads of one's own write": tally.own_reads,
                "stale": tally.stale,
                "reads by a client that never wrote": tally.anonymous_reads,
                "reads on the replica": tally.on_replica,
                "reads on the primary": tally.on_primary,
                "failed": tally.failed,
                "round trips of a write": write_cost,
                "round trips, primary": on_primary,
                "round trips, replica": on_standby,
                "round trips per read": (on_primary + on_standby - tally.writes * write_cost)
                / reads,
                "read p50 ms": percentile(tally.latencies, 0.5),
                "read p99 ms": percentile(tally.latencies, 0.99),
                "read mean ms": statistics.fmean(tally.latencies) * 1000,
            }
        )
    )
    for client in [*clients, anonymous]:
        await client.aclose()
    await admin.execute("DROP TABLE bench_rows")
    await admin.close()
    await replica.close()
    await db.dispose_engine()
    await primary.stop()
    await standby.stop()


asyncio.run(main())
