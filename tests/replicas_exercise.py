"""Read replicas on a scaffolded layer (--replicas), against a real primary and standby; run
inside the project by tests/test_replicas.py with DATABASE_URL, DB_REPLICA_URLS and
STANDBY_DATA (the standby's data folder, to stop it) set."""

import asyncio
import os
import subprocess
import time

import asyncpg
import db
import httpx
from db.core.replicas import ReadYourWrites
from db.session.dependencies import DBSession, ReadSession
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.engine import make_url

app = FastAPI()
db.add_database_errors(app)
app.add_middleware(ReadYourWrites)


@app.post("/notes", status_code=201)
async def add(body: str, session: DBSession) -> dict:
    found = await session.execute(
        text("INSERT INTO notes (body) VALUES (:b) RETURNING id"), {"b": body}
    )
    return {"id": found.scalar_one()}


@app.get("/notes/{note_id}")
async def get(note_id: int, session: ReadSession) -> dict:
    row = (
        await session.execute(
            text("SELECT (SELECT body FROM notes WHERE id = :i), pg_is_in_recovery()"),
            {"i": note_id},
        )
    ).one()
    return {"body": row[0], "replica": row[1]}


async def admin(url: str, statement: str):
    parts = make_url(url)
    conn = await asyncpg.connect(
        host=parts.host,
        port=parts.port,
        user=parts.username,
        password=parts.password,
        database=parts.database,
    )
    try:
        return await conn.fetchval(statement)
    finally:
        await conn.close()


async def main() -> None:
    primary, standby = os.environ["DATABASE_URL"], os.environ["DB_REPLICA_URLS"]
    await admin(primary, "CREATE TABLE IF NOT EXISTS notes (id serial PRIMARY KEY, body text)")
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    writer = httpx.AsyncClient(transport=transport, base_url="http://test")
    others = httpx.AsyncClient(transport=transport, base_url="http://test")  # never wrote

    # reads go to the replica once its position is known (learned in the background)
    for _ in range(100):  # (before it replays CREATE TABLE the replica answers 500)
        answer = await others.get("/notes/0")
        if answer.status_code == 200 and answer.json()["replica"]:
            break
        await asyncio.sleep(0.02)
    else:
        raise AssertionError("no read reached the replica")
    print("ok: reads without a position go to the replica")

    created = await writer.post("/notes", params={"body": "first"})
    assert created.status_code == 201 and created.headers["x-db-position"], created.headers
    read = (await writer.get(f"/notes/{created.json()['id']}")).json()
    assert read["body"] == "first", read  # the writer sees its write, wherever it reads
    where = "replica" if read["replica"] else "primary"
    print(f"ok: read-your-writes after a write, from the {where}")

    await admin(standby, "SELECT pg_wal_replay_pause()")
    second = await writer.post("/notes", params={"body": "second"})
    started = time.monotonic()
    read = (await writer.get(f"/notes/{second.json()['id']}")).json()
    waited = time.monotonic() - started
    assert read == {"body": "second", "replica": False}, read  # the primary answered
    print(f"ok: replay paused: the writer's read went to the primary after {waited:.2f} s")
    assert (await others.get("/notes/0")).json()["replica"] is True  # within the lag bound
    await asyncio.sleep(float(os.environ["DB_REPLICA_MAX_LAG"]) + 0.3)
    assert (await others.get("/notes/0")).json()["replica"] is True  # the first read after...
    await asyncio.sleep(0.3)  # ...a check that saw the lag
    assert (await others.get("/notes/0")).json()["replica"] is False
    print("ok: a replica lagging past DB_REPLICA_MAX_LAG is skipped")

    await admin(standby, "SELECT pg_wal_replay_resume()")
    for _ in range(100):
        read = (await writer.get(f"/notes/{second.json()['id']}")).json()
        if read["replica"]:
            break
        await asyncio.sleep(0.02)
    assert read == {"body": "second", "replica": True}, read
    print("ok: replay resumed: the writer reads its write from the replica again")

    as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    bin_dir = os.environ["PG_BIN"]
    subprocess.run(  # noqa: ASYNC221 - the server must be gone before the next read
        [
            *as_postgres,
            f"{bin_dir}/pg_ctl",
            "-D",
            os.environ["STANDBY_DATA"],
            "-m",
            "immediate",
            "stop",
        ],
        check=True,
        capture_output=True,
    )
    answers = [await others.get("/notes/0") for _ in range(5)]
    assert [a.status_code for a in answers] == [200] * 5, [a.text for a in answers]
    assert all(a.json()["replica"] is False for a in answers)
    print("ok: the replica stopped: reads go to the primary, none failed")

    port = make_url(standby).port
    options = f"-p {port} -k {os.environ['SOCKET_DIR']} -c listen_addresses=127.0.0.1"
    subprocess.run(  # noqa: ASYNC221 - the server must be up before the next reads
        [
            *as_postgres,
            f"{bin_dir}/pg_ctl",
            "-D",
            os.environ["STANDBY_DATA"],
            "-l",
            os.environ["STANDBY_DATA"] + ".log",
            "-w",
            "-o",
            options + " -c max_connections=200",
            "start",
        ],
        check=True,
        capture_output=True,
    )
    for _ in range(200):  # a background check finds it back
        answer = await others.get("/notes/0")
        assert answer.status_code == 200, answer.text
        if answer.json()["replica"]:
            break
        await asyncio.sleep(0.02)
    assert answer.json()["replica"] is True, answer.json()
    print("ok: the replica started again: reads go back to it on their own")
    await writer.aclose()
    await others.aclose()
    await db.dispose_engine()


asyncio.run(main())
