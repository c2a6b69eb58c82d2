"""The fault matrix: what a request to the scaffolded layer answers, and how long it takes,
when the network or the server misbehaves. A benchmark with counted outcomes, not a test;
tests/test_faults.py runs it and asserts on its rows.

    python scripts/fault_matrix.py                    # every backend; a markdown table
    python scripts/fault_matrix.py --backends mysql --json rows.json

For each backend (PostgreSQL, PostgreSQL behind PgBouncer in transaction mode, MariaDB) it
writes the `db/` layer into a fresh project with skills/async-db-layer/scripts/scaffold_db.py,
serves a small FastAPI app on it in-process (a read through ReadSession, a write through
DBSession, add_database_errors), puts scripts/pgwire_proxy.py between the layer and the
server, and for each fault and each of read and write measures the first request's status and
time, the next request's once the fault is lifted, and whether a write was stored twice.
The deadlines are scaled down so that the matrix runs in about a minute per backend
(SETTINGS); each outcome is bounded by them. Only 127.0.0.1; every wait is bounded.
"""

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCAFFOLD = ROOT / "skills" / "async-db-layer" / "scripts" / "scaffold_db.py"
BACKENDS = {  # name: (scaffold backend, the server's URL variable, extra settings)
    "postgres": ("postgres", "TEST_POSTGRES_URL", {}),
    "pgbouncer": ("postgres", "TEST_PGBOUNCER_URL", {"DB_POOLER": "transaction"}),
    "mariadb": ("mysql", "TEST_MYSQL_URL", {}),
}
SETTINGS = {  # the layer's deadlines, scaled down from the defaults (15, 5, 5, 2 s)
    "DB_STATEMENT_TIMEOUT": "3",
    "DB_POOL_TIMEOUT": "2",
    "DB_CONNECT_TIMEOUT": "2",
    "DB_PING_TIMEOUT": "1",
    "DB_POOL_SIZE": "2",
    "DB_MAX_OVERFLOW": "0",
    "DB_POOL_PING_AFTER": "1",  # 30 s by default; "silent after idle" waits past it
}
# the longest any request may take: the pool's wait, a ping, a connect and a statement
BOUND = sum(float(SETTINGS[k]) for k in SETTINGS if k.endswith("TIMEOUT")) + 2
FAULTS = (
    "none",
    "latency 200 ms",
    "trickle",
    "blackhole",
    "silent after idle",
    "reset",
    "sever",
    "restart",
    "terminate",
    "idle close",
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default=",".join(BACKENDS))
    parser.add_argument("--json", type=Path, help="also write the rows here")
    parser.add_argument("--inside", help=argparse.SUPPRESS)  # run in a scaffolded project
    args = parser.parse_args()
    if args.inside:
        rows = asyncio.run(Matrix(args.inside).run())
        print(json.dumps(rows))
        return 0
    rows = []
    for name in args.backends.split(","):
        rows += run_backend(name)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    print(table(rows))
    return 0


def run_backend(name: str, **environment: str) -> list[dict]:
    """Scaffold a project for one backend and run the matrix inside it (FAULT_ONLY=fault runs
    one row; FAULT_NO_RETRY=1 leaves out the retry of a dead connection: a control)."""
    backend, variable, extra = BACKENDS[name]
    server = os.environ.get(variable)
    if not server:
        raise SystemExit(f"{variable} is not set: start the servers (scripts/servers.sh start)")
    with tempfile.TemporaryDirectory(prefix=f"faults-{name}-") as folder:
        project = Path(folder)
        done = subprocess.run(
            [sys.executable, str(SCAFFOLD), backend, "--no-resolve", "--project", folder],
            capture_output=True,
            text=True,
            timeout=60,
        )
        if done.returncode:
            raise SystemExit(f"scaffold_db.py failed:\n{done.stderr}")
        env = os.environ | {
            "PYTHONPATH": os.pathsep.join([folder, str(ROOT / "scripts")]),
            "FAULT_SERVER_URL": server,
            "FAULT_ADMIN_URL": os.environ["TEST_MYSQL_URL" if name == "mariadb" else variable],
            "FAULT_DATABASE": f"faults_{name}_{os.getpid()}",
            **extra,
            **environment,
        }
        if name == "pgbouncer":
            env["FAULT_ADMIN_URL"] = os.environ["TEST_POSTGRES_URL"]
        ran = subprocess.run(
            [sys.executable, __file__, "--inside", name],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
        if ran.returncode:
            raise SystemExit(f"the matrix failed on {name}:\n{ran.stdout}\n{ran.stderr[-6000:]}")
        return json.loads(ran.stdout.strip().splitlines()[-1])


def table(rows: list[dict]) -> str:
    settings = ", ".join(f"{k}={v}" for k, v in SETTINGS.items())
    lines = [
        f"Deadlines: {settings}; every request bounded by {BOUND:.0f} s.",
        "",
        "| backend | fault | read: status, s | the next: status, s | write: status, s "
        "| the next: status, s | rows per 201 |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        read, write = row["read"], row["write"]
        if "replayed" in write:  # the lost COMMIT: a write with no key, then with a key
            lines.append(
                f"| {row['backend']} | {row['fault']} | no key: {read['status']}, then "
                f"{read['after']}; rows {read['stored']} | | Idempotency-Key: "
                f"{write['status']}, then {write['after']} (replayed) | | {write['stored']} |"
            )
            continue
        lines.append(
            f"| {row['backend']} | {row['fault']} | {read['status']}, {read['seconds']:.2f} "
            f"| {read['after']}, {read['after seconds']:.2f} | {write['status']}, "
            f"{write['seconds']:.2f} | {write['after']}, {write['after seconds']:.2f} "
            f"| {write['stored']} |"
        )
    return "\n".join(lines)


class Matrix:
    """Runs inside a scaffolded project: `db` is the layer as a user has it."""

    def __init__(self, backend: str) -> None:
        self.backend = backend
        self.mysql = backend == "mariadb"

    async def admin(self, *statements: str) -> list:
        """Run statements as the test server's admin, directly (not through the relay)."""
        from sqlalchemy.engine import make_url

        url = make_url(os.environ["FAULT_ADMIN_URL"])
        if self.mysql:
            import aiomysql

            conn = await aiomysql.connect(
                host=url.host,
                port=url.port,
                user=url.username,
                password=url.password,
                db=url.database,
                autocommit=True,
            )
            try:
                rows: list = []
                async with conn.cursor() as cursor:
                    for statement in statements:
                        await cursor.execute(statement)
                        rows = list(await cursor.fetchall())
                return rows
            finally:
                conn.close()
        import asyncpg

        conn = await asyncpg.connect(
            host=url.host,
            port=url.port,
            user=url.username,
            password=url.password,
            database=url.database or "postgres",
        )
        try:
            rows = []
            for statement in statements:
                rows = await conn.fetch(statement)
            return [tuple(r) for r in rows]
        finally:
            await conn.close()

    async def run(self) -> list[dict]:
        import pgwire_proxy
        from sqlalchemy.engine import make_url

        name = os.environ["FAULT_DATABASE"]
        if self.mysql:
            await self.admin(f"DROP DATABASE IF EXISTS {name}", f"CREATE DATABASE {name}")
        else:
            await self.admin(
                f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"'
            )
        server = make_url(os.environ["FAULT_SERVER_URL"])
        self.proxy = pgwire_proxy.Proxy(server.host, server.port)
        await self.proxy.start()
        url = server.set(host="127.0.0.1", port=self.proxy.port, database=name)
        os.environ.update(SETTINGS)
        os.environ["DATABASE_URL"] = url.render_as_string(hide_password=False)
        self.database = name
        table = "CREATE TABLE items (id {} PRIMARY KEY, name varchar(40) NOT NULL)".format(
            "integer AUTO_INCREMENT" if self.mysql else "serial"
        )
        admin_url = make_url(os.environ["FAULT_ADMIN_URL"]).set(database=name)
        os.environ["FAULT_ADMIN_URL"] = admin_url.render_as_string(hide_password=False)
        await self.admin(table, "INSERT INTO items (name) VALUES ('first')")
        rows = []
        try:
            only = os.environ.get("FAULT_ONLY")
            for fault in FAULTS:
                if only is None or fault == only:
                    rows.append(await self.cell(fault))
            # the relay finds the COMMIT in PostgreSQL's messages; it cannot read TLS, which
            # the test PgBouncer requires
            if self.backend == "postgres" and only is None:
                rows.append(await self.lost_commit())
        finally:
            await self.proxy.stop()
            import db

            await db.dispose_engine()
        return rows

    def app(self):
        import db
        from db.session.dependencies import DBSession, ReadSession
        from fastapi import FastAPI
        from sqlalchemy import text

        app = FastAPI()
        db.add_database_errors(app)
        if os.environ.get("FAULT_NO_RETRY"):  # the control: without the retry of a dead one
            from db.session.errors import RetryDeadConnection

            app.user_middleware = [
                m for m in app.user_middleware if m.cls is not RetryDeadConnection
            ]

        @app.get("/items/{item_id}")
        async def read(item_id: int, session: ReadSession) -> dict:
            found = await session.scalar(
                text("SELECT name FROM items WHERE id = :id"), {"id": item_id}
            )
            return {"name": found}

        @app.post("/items", status_code=201)
        async def write(name: str, session: DBSession) -> dict:
            await session.execute(text("INSERT INTO items (name) VALUES (:n)"), {"n": name})
            return {"name": name}

        return app

    async def cell(self, fault: str) -> dict:
        import db
        import httpx

        await db.dispose_engine()
        transport = httpx.ASGITransport(app=self.app(), raise_app_exceptions=False)
        row: dict = {"backend": self.backend, "fault": fault}
        async with httpx.AsyncClient(
            transport=transport, base_url="http://test", timeout=BOUND * 3
        ) as client:
            for kind in ("read", "write"):
                marker = f"{fault}-{kind}"[:40]

                async def request(marker: str = marker, kind: str = kind) -> httpx.Response:
                    if kind == "read":
                        return await client.get("/items/1")
                    return await client.post("/items", params={"name": marker})

                for _ in range(2):  # both pooled connections used and back in the pool
                    await asyncio.gather(request(marker="warm"), request(marker="warm"))
                await self.inject(fault)
                start = time.monotonic()
                first = await request()
                seconds = time.monotonic() - start
                await self.lift(fault)
                start = time.monotonic()
                after = await request(marker=marker)
                after_seconds = time.monotonic() - start
                stored = await self.admin(f"SELECT count(*) FROM items WHERE name = '{marker}'")
                answered = int(first.status_code == 201) + int(after.status_code == 201)
                row[kind] = {
                    "status": first.status_code,
                    "seconds": round(seconds, 3),
                    "after": after.status_code,
                    "after seconds": round(after_seconds, 3),
                    "detail": first.text[:120],
                    "stored": f"{stored[0][0]}/{answered}" if kind == "write" else "",
                }
        return row

    async def lost_commit(self) -> dict:
        """The answer to a write's COMMIT is lost (the write is stored): the client sends it
        again, with its Idempotency-Key and without one."""
        import db
        import httpx
        from db.session import idempotency
        from db.session.dependencies import DBSession
        from fastapi import FastAPI
        from sqlalchemy import text

        await db.dispose_engine()
        async with db.get_engine().begin() as conn:
            await conn.run_sync(idempotency.metadata.create_all)
        app = FastAPI()
        db.add_database_errors(app)

        @app.post("/items", status_code=201)
        async def write(name: str, session: DBSession, once: db.IdempotencyKey):
            if (first := await once.earlier(session)) is not None:
                return first
            stored = await session.execute(
                text("INSERT INTO items (name) VALUES (:n) RETURNING id"), {"n": name}
            )
            return await once.remember(session, {"id": stored.scalar_one(), "name": name})

        row: dict = {"backend": self.backend, "fault": "COMMIT answer lost"}
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            for kind, headers in (("write", {"Idempotency-Key": "k-1"}), ("no key", {})):
                marker = f"lost-commit-{kind}"
                self.proxy.drop_commit_answer()
                dropped = self.proxy.commits_dropped
                start = time.monotonic()
                first = await client.post("/items", params={"name": marker}, headers=headers)
                seconds = time.monotonic() - start
                after = await client.post("/items", params={"name": marker}, headers=headers)
                stored = await self.admin(f"SELECT count(*) FROM items WHERE name = '{marker}'")
                row[kind] = {
                    "status": first.status_code,
                    "seconds": round(seconds, 3),
                    "after": after.status_code,
                    "detail": first.text[:120],
                    "stored": f"{stored[0][0]}/1",
                    "dropped": self.proxy.commits_dropped - dropped,
                    "replayed": after.headers.get("idempotent-replayed"),
                }
        row["read"] = row.pop("no key")
        return row

    async def inject(self, fault: str) -> None:
        proxy = self.proxy
        if fault == "latency 200 ms":
            proxy.delay = 0.2
        elif fault == "trickle":
            proxy.trickle = 0.002
        elif fault == "blackhole":
            proxy.blackhole = True
        elif fault == "silent after idle":  # both pooled connections idle past the ping's age
            await asyncio.sleep(float(SETTINGS["DB_POOL_PING_AFTER"]) + 0.2)
            proxy.blackhole = True
        elif fault == "reset":
            proxy.reset()
            await asyncio.sleep(0.05)
        elif fault == "sever":
            proxy.sever()
        elif fault == "restart":
            proxy.refuse = True
            proxy.reset()
            asyncio.get_running_loop().call_later(1.0, setattr, proxy, "refuse", False)
        elif fault == "terminate":
            await self.terminate()
        elif fault == "idle close":
            await self.idle_close()

    async def lift(self, fault: str) -> None:
        self.proxy.delay = self.proxy.trickle = 0
        self.proxy.blackhole = self.proxy.refuse = False
        if fault == "idle close" and not self.mysql:
            await self.admin(f'ALTER DATABASE "{self.database}" RESET idle_session_timeout')

    async def terminate(self) -> None:
        """The server ends the app's sessions (an operator, a failover's clean-up)."""
        if self.mysql:
            ids = await self.admin(
                "SELECT id FROM information_schema.processlist "
                f"WHERE db = '{self.database}' AND id <> CONNECTION_ID()"
            )
            for (pid,) in ids:
                await self.admin(f"KILL CONNECTION {pid}")
        else:
            await self.admin(
                "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity "
                f"WHERE datname = '{self.database}' AND pid <> pg_backend_pid()"
            )
        await asyncio.sleep(0.05)

    async def idle_close(self) -> None:
        """The server closes sessions idle for a second (idle_session_timeout on PostgreSQL,
        wait_timeout on MariaDB): the pooled connections are older than that."""
        import db
        from sqlalchemy import text

        if self.mysql:
            async with db.get_engine().connect() as one, db.get_engine().connect() as two:
                for conn in (one, two):
                    await conn.execute(text("SET SESSION wait_timeout = 1"))
        else:
            await self.admin(f'ALTER DATABASE "{self.database}" SET idle_session_timeout = 1000')
            await db.dispose_engine()  # new sessions take the setting
            async with db.get_engine().connect() as one, db.get_engine().connect() as two:
                for conn in (one, two):
                    await conn.execute(text("SELECT 1"))
        await asyncio.sleep(1.6)


if __name__ == "__main__":
    sys.exit(main())
