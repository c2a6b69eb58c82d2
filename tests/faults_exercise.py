"""Faults on a scaffolded PostgreSQL layer, run inside the project by tests/test_scaffold.py.

1. The server terminates the app's connections between requests (the backends have exited):
   the next request works, and costs no ping.
2. More concurrent sessions than pool_size + max_overflow: a clear TimeoutError after
   pool_timeout, never a hang.
"""

import asyncio
import os
import time
from typing import Annotated

import asyncpg
import db
import httpx
from db.session.dependencies import get_db_session
from fastapi import Depends, FastAPI
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.ext.asyncio import AsyncSession

DBSession = Annotated[AsyncSession, Depends(get_db_session, scope="function")]
app = FastAPI()


@app.get("/pid")
async def backend_pid(session: DBSession) -> dict[str, int]:
    return {"pid": await session.scalar(text("SELECT pg_backend_pid()"))}


async def terminate_app_connections() -> int:
    admin = make_url(os.environ["TEST_POSTGRES_URL"])
    conn = await asyncpg.connect(
        user=admin.username,
        password=admin.password,
        host=admin.host,
        port=admin.port,
        database="postgres",
    )
    try:
        rows = await conn.fetch(
            "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity "  # waits for the exit
            "WHERE datname = $1 AND pid <> pg_backend_pid()",
            db.configuration.settings.load_settings().name,
        )
        return len(rows)
    finally:
        await conn.close()


async def main() -> None:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        first = (await client.get("/pid")).json()["pid"]
        killed = await terminate_app_connections()
        assert killed >= 1, "no connection of the app was found to terminate"
        response = await client.get("/pid")
        assert response.status_code == 200, response.text
        assert response.json()["pid"] != first
    print(f"ok: terminated {killed} connection(s); the next request got a new one")

    sessionmaker = db.get_sessionmaker()
    settings = db.configuration.settings.load_settings()
    limit = settings.pool_size + settings.max_overflow
    held = [sessionmaker() for _ in range(limit)]
    for session in held:
        await session.execute(text("SELECT 1"))  # each now holds a pooled connection
    start = time.monotonic()
    try:
        async with sessionmaker() as extra:
            await asyncio.wait_for(extra.execute(text("SELECT 1")), settings.pool_timeout + 10)
        raise AssertionError("a session beyond the pool got a connection")
    except PoolTimeoutError as exc:
        waited = time.monotonic() - start
        assert "timed out" in str(exc) and f"limit of size {settings.pool_size}" in str(exc)
        assert waited >= settings.pool_timeout - 0.2, waited  # it waited; wait_for bounds it
        print(f"ok: session {limit + 1} timed out after {waited:.2f}s: {str(exc).splitlines()[0]}")
    for session in held:
        await session.close()
    await db.dispose_engine()


asyncio.run(main())
