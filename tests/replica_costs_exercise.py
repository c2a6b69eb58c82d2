"""Round trips with read replicas, counted at the wire (scripts/pgwire_proxy.py in front of
the primary and of the standby); run inside a project scaffolded with --replicas by
tests/test_replicas.py. Prints one JSON line of counts."""

import asyncio
import json
import os

import httpx
import pgwire_proxy
from sqlalchemy.engine import make_url


async def main() -> None:
    primary_url, standby_url = make_url(os.environ["PRIMARY"]), make_url(os.environ["STANDBY"])
    primary = pgwire_proxy.Proxy(primary_url.host, primary_url.port)
    standby = pgwire_proxy.Proxy(standby_url.host, standby_url.port)
    await primary.start()
    await standby.start()
    os.environ["DATABASE_URL"] = primary_url.set(port=primary.port).render_as_string(False)
    os.environ["DB_REPLICA_URLS"] = standby_url.set(port=standby.port).render_as_string(False)
    os.environ["DB_REPLICA_CHECK_EVERY"] = "3600"  # one check, then none while counting

    import db
    from db.core.replicas import ReadYourWrites
    from db.session.dependencies import DBSession, ReadSession
    from fastapi import FastAPI
    from sqlalchemy import text

    app = FastAPI()
    db.add_database_errors(app)
    app.add_middleware(ReadYourWrites)

    @app.get("/where")
    async def where(session: ReadSession) -> dict:
        return {"replica": await session.scalar(text("SELECT pg_is_in_recovery()"))}

    @app.post("/rows", status_code=201)
    async def add(session: DBSession) -> dict:
        await session.execute(text("INSERT INTO counted DEFAULT VALUES"))
        return {}

    async with db.get_engine().begin() as conn:
        await conn.execute(text("CREATE TABLE IF NOT EXISTS counted (id serial PRIMARY KEY)"))
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    counts = {}
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        for _ in range(200):  # until the one check has found the replica
            if (await client.get("/where")).json()["replica"]:
                break
            await asyncio.sleep(0.01)
        await client.post("/rows")  # warm: pooled connections on both
        client.cookies.clear()

        async def count(request) -> dict:
            before = (primary.round_trips, standby.round_trips)
            answer = await request
            return {
                "status": answer.status_code,
                "primary": primary.round_trips - before[0],
                "replica": standby.round_trips - before[1],
            }

        counts["read"] = await count(client.get("/where"))
        counts["write"] = await count(client.post("/rows"))
        counts["read after the write"] = await count(client.get("/where"))
    await db.dispose_engine()
    await primary.stop()
    await standby.stop()
    print(json.dumps(counts))


asyncio.run(main())
