"""Graceful shutdown under load, measured: uvicorn with two workers serves the scaffolded
PostgreSQL layer; clients keep writing (each write holds its transaction 0.2 s); SIGTERM
reaches uvicorn mid-load. Counted: writes answered 201 and rows stored per 201, writes with
no answer (refused, or closed unread while the workers stop) and rows stored for those, any
other status, and the app's sessions left on the server (idle in a transaction or not) once it
has exited. tests/test_faults.py asserts on the result.

    python scripts/graceful_shutdown.py        # prints the counts as JSON

Only 127.0.0.1; every wait is bounded.
"""

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCAFFOLD = ROOT / "skills" / "async-db-layer" / "scripts" / "scaffold_db.py"
CLIENTS = 24
APP = """
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy import text

import db
from db.session.dependencies import DBSession


@asynccontextmanager
async def lifespan(app: FastAPI):
    yield
    await db.dispose_engine()  # the pool's connections end with the worker
    print("pool disposed", flush=True)


app = FastAPI(lifespan=lifespan)
db.add_database_errors(app)
app.include_router(db.health)


@app.post("/items", status_code=201)
async def write(name: str, session: DBSession) -> dict:
    await session.execute(text("INSERT INTO items (name) VALUES (:n)"), {"n": name})
    await session.execute(text("SELECT pg_sleep(0.2)"))  # the transaction stays open a while
    return {"name": name}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def admin(url: str, statement: str) -> list:
    from pg_direct import connect

    conn = await connect(url)
    try:
        return [tuple(r) for r in await conn.fetch(statement)]
    finally:
        await conn.close()


async def measure(server: str, project: Path) -> dict:
    import httpx
    from sqlalchemy.engine import make_url

    name = f"shutdown_{os.getpid()}"
    await admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin(server, f'CREATE DATABASE "{name}"')
    database = make_url(server).set(database=name).render_as_string(hide_password=False)
    await admin(database, "CREATE TABLE items (id serial PRIMARY KEY, name text NOT NULL)")
    port = free_port()
    env = os.environ | {"DATABASE_URL": database, "PYTHONPATH": str(project)}
    uvicorn = subprocess.Popen(  # noqa: ASYNC220 - started once, polled without blocking
        [sys.executable, "-m", "uvicorn", "main:app", "--port", str(port), "--workers", "2"],
        cwd=project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    outcome = {"201": 0, "refused": 0, "cut off": 0, "other": 0, "still writing": 0}
    names: list[str] = []
    kinds: set[str] = set()
    cut: list[str] = []  # the requests with no answer, and what the client saw
    try:
        async with httpx.AsyncClient(base_url=base, timeout=10) as client:
            for _ in range(200):  # until both workers answer
                try:
                    if (await client.get("/health/db")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.05)
            stopping = asyncio.Event()

            async def writer(i: int) -> None:
                n = 0
                while True:
                    n += 1
                    marker = f"w{i}-{n}"
                    try:
                        answer = await client.post("/items", params={"name": marker})
                    except httpx.ConnectError:
                        outcome["refused"] += 1  # nothing was sent: safe to send elsewhere
                        return
                    except httpx.TransportError as exc:
                        outcome["cut off"] += 1  # no answer: stored or not is counted below
                        cut.append(marker)
                        kinds.add(type(exc).__name__)
                        return
                    if answer.status_code == 201:
                        outcome["201"] += 1
                        names.append(marker)
                    else:
                        outcome["other"] += 1
                    if stopping.is_set() and answer.status_code != 201:
                        return

            writers = [asyncio.create_task(writer(i)) for i in range(CLIENTS)]
            await asyncio.sleep(1.0)
            in_flight_before = outcome["201"]
            uvicorn.send_signal(signal.SIGTERM)
            signalled = time.monotonic()
            stopping.set()
            _, pending = await asyncio.wait(writers, timeout=30)
            for task in pending:  # bounded: reported (with the server's log), not raised
                task.cancel()
            outcome["still writing"] = len(pending)
            while uvicorn.poll() is None and time.monotonic() - signalled < 30:  # noqa: ASYNC110
                await asyncio.sleep(0.02)
            exited_after = time.monotonic() - signalled
    finally:
        if uvicorn.poll() is None:
            uvicorn.kill()
        log = uvicorn.communicate(timeout=10)[0]
    stored = await admin(database, "SELECT name, count(*) FROM items GROUP BY name")
    left = await admin(
        database,
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    await admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    counts = dict(stored)
    return {
        "answered 201": outcome["201"],
        "201 before SIGTERM": in_flight_before,
        "refused before sending": outcome["refused"],
        "cut off mid-request": outcome["cut off"],
        "other statuses": outcome["other"],
        "rows per 201": f"{sum(counts.get(n, 0) for n in names)}/{len(names)}",
        "rows without a 201": sum(v for k, v in counts.items() if k not in set(names)),
        "rows per request with no answer": f"{sum(counts.get(n, 0) for n in cut)}/{len(cut)}",
        "what those clients saw": sorted(kinds),
        "sessions left after exit": left[0][0],
        "seconds from SIGTERM to exit": round(exited_after, 2),
        "exit code": uvicorn.returncode,
        "pools disposed": log.count("pool disposed"),
        "traceback in log": "Traceback" in log,
        "writers still going 30 s after SIGTERM": outcome["still writing"],
        "log tail": log.splitlines()[-12:] if outcome["still writing"] else [],
    }


def main() -> int:
    server = os.environ.get("TEST_POSTGRES_URL")
    if not server:
        raise SystemExit("TEST_POSTGRES_URL is not set: start the servers (scripts/servers.sh)")
    with tempfile.TemporaryDirectory(prefix="shutdown-") as folder:
        project = Path(folder)
        done = subprocess.run(
            [sys.executable, str(SCAFFOLD), "postgres", "--no-resolve", "--project", folder],
            capture_output=True,
            text=True,
            timeout=60,
        )
        if done.returncode:
            raise SystemExit(f"scaffold_db.py failed:\n{done.stderr}")
        (project / "main.py").write_text(APP, encoding="utf-8")
        print(json.dumps(asyncio.run(measure(server, project)), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
