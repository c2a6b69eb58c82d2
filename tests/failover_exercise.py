"""A failover under the scaffolded layer, run inside the project by tests/test_replicas.py:
DATABASE_URL names both servers with target_session_attrs=read-write; the primary is
stopped at once and the standby promoted; writes go on, to the new primary, with no restart."""

import asyncio
import os
import subprocess
import time

import asyncpg
import db
import httpx
from db.session.dependencies import DBSession
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.engine import make_url

app = FastAPI()
db.add_database_errors(app)


@app.post("/ticks", status_code=201)
async def tick(session: DBSession) -> dict:
    await session.execute(text("CREATE TABLE IF NOT EXISTS ticks (at timestamptz DEFAULT now())"))
    await session.execute(text("INSERT INTO ticks DEFAULT VALUES"))
    return {"port": await session.scalar(text("SELECT inet_server_port()"))}


async def main() -> None:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        before = await client.post("/ticks")
        assert before.status_code == 201, before.text
        as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        pg_ctl = f"{os.environ['PG_BIN']}/pg_ctl"
        subprocess.run(  # noqa: ASYNC221 - the primary must be gone before the next write
            [*as_postgres, pg_ctl, "-D", os.environ["PRIMARY_DATA"], "-m", "immediate", "stop"],
            check=True,
            capture_output=True,
        )
        failed = (await client.post("/ticks")).status_code  # no primary at all now
        standby = make_url(os.environ["STANDBY_URL"])
        conn = await asyncpg.connect(
            host=standby.host,
            port=standby.port,
            user=standby.username,
            password=standby.password,
            database="postgres",
        )
        promoted = time.monotonic()
        assert await conn.fetchval("SELECT pg_promote(true, 30)")
        await conn.close()
        statuses = []
        while time.monotonic() - promoted < 30:
            answer = await client.post("/ticks")
            statuses.append(answer.status_code)
            if answer.status_code == 201:
                break
            await asyncio.sleep(0.05)
        took = time.monotonic() - promoted
        assert statuses[-1] == 201, statuses
        assert answer.json()["port"] == standby.port, answer.json()
        assert set(statuses[:-1]) <= {503}, statuses  # clean statuses until then
    print(f"ok: with no primary a write answered {failed}")
    print(
        f"ok: the first write after the promotion succeeded {took:.2f} s after it, on the "
        f"new primary ({len(statuses) - 1} answered 503 before)"
    )
    await db.dispose_engine()


asyncio.run(main())
