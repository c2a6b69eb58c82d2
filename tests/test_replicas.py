"""The streaming replica that scripts/servers.sh starts next to the test PostgreSQL, and the
primary-standby pairs a test makes for itself: real replication, which the replica tests rely
on (replay paused and resumed, a standby promoted, a pair stopped)."""

import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import asyncpg
import httpx
import pytest
from conftest import DEFAULT_SERVERS_DIR, ROOT
from pg_direct import connect
from sqlalchemy.engine import make_url

SCAFFOLD = ROOT / "skills" / "async-db-layer" / "scripts" / "scaffold_db.py"
SERVERS = os.environ.get("SERVERS_DIR", DEFAULT_SERVERS_DIR)


def scaffolded(tmp_path: Path, *options: str) -> Path:
    """A project with the layer written by scaffold_db.py, as /setup-database writes it."""
    project = tmp_path / "project"
    project.mkdir()
    done = subprocess.run(
        [sys.executable, str(SCAFFOLD), "postgres", *options, "--no-resolve"]
        + ["--project", str(project)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return project


def run_exercise(project: Path, exercise: str, env: dict[str, str]) -> str:
    """Run tests/<exercise> inside the project; its output, after it exited 0."""
    ran = subprocess.run(
        [sys.executable, str(ROOT / "tests" / exercise)],
        cwd=project,
        env=os.environ | env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr[-4000:]
    print(ran.stdout)
    return ran.stdout


def pg_bin() -> str:
    """The newest PostgreSQL's bin folder, as scripts/servers.sh picks it."""
    found = Path("/usr/lib/postgresql").glob("*/bin")
    return str(max(found, key=lambda p: int(p.parent.name)))


async def replayed(replica: asyncpg.Connection, lsn: str, within: float) -> bool:
    """Whether the replica replays past `lsn` within `within` seconds."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if await replica.fetchval("SELECT pg_last_wal_replay_lsn() >= $1::text::pg_lsn", lsn):
            return True
        await asyncio.sleep(0.005)
    return False


def test_the_shared_replica_replays_the_primary(replica_url: str) -> None:
    async def run() -> None:
        primary = await connect(os.environ["TEST_POSTGRES_URL"])
        replica = await connect(replica_url)
        table = f"replayed_{os.getpid()}"
        try:
            assert await replica.fetchval("SELECT pg_is_in_recovery()") is True
            await primary.execute(f"CREATE TABLE {table} (n int)")
            await primary.execute(f"INSERT INTO {table} VALUES (7)")
            lsn = await primary.fetchval("SELECT pg_current_wal_lsn()::text")
            assert await replayed(replica, lsn, 10)
            assert await replica.fetchval(f"SELECT n FROM {table}") == 7
            with pytest.raises(asyncpg.ReadOnlySQLTransactionError):
                await replica.execute(f"INSERT INTO {table} VALUES (8)")
        finally:
            await primary.execute(f"DROP TABLE IF EXISTS {table}")
            await primary.close()
            await replica.close()

    asyncio.run(run())


def test_a_cluster_of_ones_own_pauses_resumes_is_promoted_and_dropped(own_cluster) -> None:
    name, primary_url, url = own_cluster

    async def run() -> None:
        primary = await connect(primary_url)
        replica = await connect(url)
        table = f"paused_{os.getpid()}"
        try:
            await primary.execute(f"CREATE TABLE {table} (n int)")
            lsn = await primary.fetchval("SELECT pg_current_wal_lsn()::text")
            assert await replayed(replica, lsn, 10)
            await replica.execute("SELECT pg_wal_replay_pause()")
            await primary.execute(f"INSERT INTO {table} VALUES (1)")
            lsn = await primary.fetchval("SELECT pg_current_wal_lsn()::text")
            assert not await replayed(replica, lsn, 0.5)  # paused: the row is not there
            assert await replica.fetchval(f"SELECT count(*) FROM {table}") == 0
            await replica.execute("SELECT pg_wal_replay_resume()")
            assert await replayed(replica, lsn, 10)
            assert await replica.fetchval(f"SELECT count(*) FROM {table}") == 1
            assert await replica.fetchval("SELECT pg_promote(true, 30)") is True
            assert await replica.fetchval("SELECT pg_is_in_recovery()") is False
            await replica.execute(f"INSERT INTO {table} VALUES (2)")  # it takes writes now
        finally:
            await primary.close()
            await replica.close()

    asyncio.run(run())
    # stopped, nothing listens on its port any more
    done = subprocess.run(
        [str(ROOT / "scripts" / "servers.sh"), "drop", name],
        env=os.environ | {"SERVERS_DIR": SERVERS},
        capture_output=True,
    )
    assert done.returncode == 0, done.stderr

    async def refused() -> None:
        with pytest.raises(OSError):
            await connect(url)

    asyncio.run(refused())


def test_the_layer_reads_from_the_replica_and_the_writer_sees_its_writes(
    tmp_path, own_cluster
) -> None:
    """scaffold_db.py --replicas on a real primary and standby (tests/replicas_exercise.py):
    reads go to the replica; the writer's next read sees its write (the replica, or the
    primary while replay is paused); a replica past DB_REPLICA_MAX_LAG is skipped, comes
    back on its own, a stopped one costs no failed read, and is read again once it is back."""
    name, primary, standby = own_cluster
    project = scaffolded(tmp_path, "--replicas")
    assert (project / "db" / "core" / "replicas.py").is_file()
    out = run_exercise(
        project,
        "replicas_exercise.py",
        {
            "DATABASE_URL": primary,
            "DB_REPLICA_URLS": standby,
            "DB_REPLICA_MAX_LAG": "1",
            "DB_REPLICA_CHECK_EVERY": "0.1",
            "DB_READ_YOUR_WRITES_WAIT": "0.3",
            "STANDBY_DATA": f"{SERVERS}/pg/{name}/standby",
            "SOCKET_DIR": f"{SERVERS}/pg",
            "PG_BIN": pg_bin(),
            "PYTHONPATH": str(project),
        },
    )
    assert out.count("ok: ") == 7, out


def test_after_a_failover_writes_reach_the_new_primary_without_a_restart(
    tmp_path, own_cluster
) -> None:
    """The primary dies (stopped at once, no goodbye) and its standby is promoted: the app's
    multi-host URL with target_session_attrs=read-write finds the new primary; the time from
    the promotion to the first write that succeeds is measured."""
    name, primary, standby = own_cluster
    project = scaffolded(tmp_path)
    first, second = make_url(primary), make_url(standby)
    both = (
        f"postgresql://postgres:{first.password}@/postgres?host=127.0.0.1:{first.port}"
        f"&host=127.0.0.1:{second.port}&target_session_attrs=read-write"
    )
    out = run_exercise(
        project,
        "failover_exercise.py",
        {
            "DATABASE_URL": both,
            "PRIMARY_DATA": f"{SERVERS}/pg/{name}/primary",
            "STANDBY_URL": standby,
            "PG_BIN": pg_bin(),
            "PYTHONPATH": str(project),
        },
    )
    assert "ok: the first write after the promotion" in out


def test_round_trips_with_replicas(tmp_path, own_cluster) -> None:
    """Counted at the wire (tests/replica_costs_exercise.py): a read is one round trip, on the
    replica, none on the primary; a write is the layer's three plus one for its position; the
    writer's next read asks the replica where its replay is (one round trip per ask, 5 ms
    apart, until it is past the write: one here, two or three on a slow machine), then reads
    there; nothing on the primary."""
    _, primary, standby = own_cluster
    project = scaffolded(tmp_path, "--replicas")
    out = run_exercise(
        project,
        "replica_costs_exercise.py",
        {
            "PRIMARY": primary,
            "STANDBY": standby,
            "PYTHONPATH": os.pathsep.join([str(project), str(ROOT / "scripts")]),
        },
    )
    counts = json.loads(out.strip().splitlines()[-1])
    assert counts["read"] == {"status": 200, "primary": 0, "replica": 1}, counts
    assert counts["write"] == {"status": 201, "primary": 4, "replica": 0}, counts
    after = counts["read after the write"]
    assert after["status"] == 200 and after["primary"] == 0, counts
    assert 2 <= after["replica"] <= 4, counts


def test_read_your_writes_across_two_worker_processes(tmp_path, own_cluster) -> None:
    """uvicorn --workers 2: a client writes through one connection and reads through a new
    one, so either worker may answer either request; its position comes back as the header
    (an API client) or the cookie (a browser). Every read finds the row, also the reads by
    the worker that did not write and has positions of its own, and while the replica's
    replay is paused."""
    _, primary, standby = own_cluster
    project = scaffolded(tmp_path, "--replicas")
    shutil.copy(ROOT / "tests" / "replica_workers_app.py", project / "workers_app.py")

    async def admin(url: str, statement: str) -> None:
        conn = await connect(url)
        try:
            await conn.execute(statement)
        finally:
            await conn.close()

    asyncio.run(admin(primary, "CREATE TABLE notes (id serial PRIMARY KEY)"))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {"DATABASE_URL": primary, "DB_REPLICA_URLS": standby, "PYTHONPATH": str(project)}
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "workers_app:app", "--workers", "2"]
        + ["--port", str(port), "--log-level", "warning"],
        cwd=project,
        env=os.environ | env | {"DB_REPLICA_CHECK_EVERY": "0.1"},
    )
    base = f"http://127.0.0.1:{port}"
    seen: list[tuple[int, int, bool]] = []  # writer's worker, reader's worker, on the replica
    try:
        for _ in range(200):
            try:
                httpx.get(f"{base}/notes/0", timeout=5)
                break
            except httpx.TransportError:
                time.sleep(0.05)
        for turn in range(400):
            paused = turn % 40 >= 30
            if turn % 40 in (0, 30):
                replay = "pg_wal_replay_pause()" if paused else "pg_wal_replay_resume()"
                asyncio.run(admin(standby, f"SELECT {replay}"))
            made = httpx.post(f"{base}/notes", timeout=10)
            assert made.status_code == 201, made.text
            position = made.headers["x-db-position"]
            carried = (
                {"headers": {"X-DB-Position": position}}
                if turn % 2
                else {"cookies": {"db_position": made.cookies["db_position"]}}
            )
            with httpx.Client(base_url=base, timeout=10, **carried) as client:
                read = client.get(f"/notes/{made.json()['id']}")
            assert read.status_code == 200 and read.json()["found"] is True, (turn, read.text)
            seen.append((made.json()["worker"], read.json()["worker"], read.json()["replica"]))
            crossed = [s for s in seen if s[0] != s[1]]
            if turn >= 80 and len(crossed) >= 10 and any(s[2] for s in crossed):
                break
    finally:
        asyncio.run(admin(standby, "SELECT pg_wal_replay_resume()"))
        server.terminate()
        server.wait(timeout=30)
    crossed = [s for s in seen if s[0] != s[1]]
    assert len({s[0] for s in seen} | {s[1] for s in seen}) == 2, seen
    assert len(crossed) >= 10, seen  # read by the worker that did not write
    assert any(s[2] for s in crossed), seen  # ...on the replica, past the write
    assert not all(s[2] for s in seen), seen  # and on the primary while replay was paused
    print(f"{len(seen)} writes each read back; {len(crossed)} by the other worker")


def test_positions_over_generated_input(tmp_path, replica_url: str) -> None:
    """tests/replica_positions_exercise.py, hypothesis against the real server: lsn() reads
    what pg_lsn reads and lsn_text() writes what it writes; any X-DB-Position header reads
    with 200; a replayed position reads on the replica, one ahead of the primary on it."""
    project = scaffolded(tmp_path, "--replicas")
    out = run_exercise(
        project,
        "replica_positions_exercise.py",
        {
            "DATABASE_URL": os.environ["TEST_POSTGRES_URL"],
            "DB_REPLICA_URLS": replica_url,
            "DB_REPLICA_CHECK_EVERY": "0.05",
            "PYTHONPATH": str(project),
        },
    )
    assert out.count("ok: ") == 4, out


def test_the_replica_benchmark_counts_no_stale_read(own_cluster) -> None:
    """scripts/bench_replicas.py, short: clients write and read back their writes while the
    replica's replay is paused and resumed at random. With the position carried no read
    misses its write; the counts of the routings are what the layer's design says."""
    sys.path.insert(0, str(ROOT / "scripts"))
    import bench_replicas

    _, primary, standby = own_cluster
    found = bench_replicas.run(primary, standby, clients=6, seconds=4)
    print(bench_replicas.table(found, 2))
    position, sticky, alone = found["position"], found["sticky"], found["primary"]
    assert position["stale"] == 0 and position["failed"] == 0, position
    assert position["pauses"] >= 1 and position["reads of one's own write"] >= 20, position
    assert 0 < position["replica share"] < 1, position  # the primary while replay is paused
    assert position["round trips of a write"] == 4, position  # the layer's 3 + its position
    assert alone["round trips of a write"] == 3 and alone["round trips per read"] == 1, alone
    assert alone["replica share"] == 0 and alone["stale"] == 0, alone
    assert sticky["failed"] == 0 and sticky["replica share"] > 0, sticky
