"""scaffold_db.py (skills/async-db-layer/scripts/): every backend and option combination,
scaffolded into a fresh project and exercised against a real server; and every kind of bad input."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import snippets
from conftest import PRODUCT, ROOT, need_server, postgres_admin, server_url
from sqlalchemy.engine import make_url

SCAFFOLD = PRODUCT / "scaffold_db.py"
CONTRACT = json.loads((PRODUCT / "contract.json").read_text(encoding="utf-8"))
EXERCISE = ROOT / "tests" / "scaffold_exercise.py"
PACKAGE = "app/db"
BARE_PYTHON = "/usr/bin/python3"  # Debian's Python: no third-party packages at all
SERVER_ENV = {
    "postgres": "TEST_POSTGRES_URL",
    "supabase": "TEST_PGBOUNCER_URL",
    "mysql": "TEST_MYSQL_URL",
}


def requirement(name: str) -> str:
    """How the scaffold's install line writes a package: with the contract's floor, quoted."""
    spec = CONTRACT["packages"][name]
    return f"'{spec['install']}>={spec['floor']}'"


def scaffold(project: Path, *args: str, resolver: bool = False) -> subprocess.CompletedProcess:
    """The script as the command runs it; the resolver's check (network, seconds) only where
    a test is about it."""
    extra = [] if resolver else ["--no-resolve"]
    return subprocess.run(
        [sys.executable, str(SCAFFOLD), *args, *extra, "--project", str(project)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def project_env(project: Path) -> dict[str, str]:
    """The environment of a process in the user's project: no DB_* leaking in from ours,
    and the project importable, as `uvicorn app.main:app` run from it would have it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DB_", "DATABASE_URL"))}
    env["PYTHONPATH"] = str(project)
    return env


def run_python(project: Path, *args: str, timeout: int = 180) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args],
        cwd=project,
        env=project_env(project),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def snapshot(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


def create_database(admin_url: str, name: str) -> None:
    """A fresh database (PostgreSQL or MariaDB) for one combination."""
    url = make_url(admin_url)
    if url.get_backend_name() == "postgresql":
        postgres_admin(
            f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"'
        )
        return

    async def run() -> None:
        import aiomysql

        conn = await aiomysql.connect(
            user=url.username, password=url.password, host=url.host, port=url.port
        )
        try:
            async with conn.cursor() as cur:
                await cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
                await cur.execute(f"CREATE DATABASE `{name}`")
        finally:
            conn.close()

    asyncio.run(run())


def env_file(backend: str, project: Path, database: str) -> str:
    """The .env a user would fill in for this backend: DB_* parts, not one URL."""
    if backend == "sqlite":
        return f"DB_TYPE=sqlite\nDB_NAME={project / 'app.db'}\n"
    url = make_url(os.environ[SERVER_ENV[backend]])
    lines = [
        f"DB_TYPE={backend}",
        f"DB_HOST={url.host}",
        f"DB_PORT={url.port}",
        f"DB_NAME={database}",
        f"DB_USER={url.username}",
        f"DB_PASSWORD={url.password}",
    ]
    if backend == "supabase":
        lines.append("DB_POOLER=transaction")  # TLS stays on: PgBouncer requires it
    return "\n".join(lines) + "\n"


COMBOS = [
    (backend, fastapi, uow, pool)
    for backend, fastapi, uow, pool in itertools.product(
        ("sqlite", "postgres", "supabase", "mysql"), (True, False), (True, False), (False, True)
    )
]


@pytest.mark.parametrize(
    ("backend", "fastapi", "uow", "custom_pool"),
    COMBOS,
    ids=[
        f"{b}-{'fastapi' if f else 'nofastapi'}-{'uow' if u else 'nouow'}-"
        f"{'custompool' if p else 'defaultpool'}"
        for b, f, u, p in COMBOS
    ],
)
def test_scaffold_and_exercise(tmp_path: Path, backend, fastapi, uow, custom_pool) -> None:
    if backend != "sqlite" and not os.environ.get(SERVER_ENV[backend]):
        need_server(f"{backend} server", f"set {SERVER_ENV[backend]}, or run scripts/test.sh")
    project = tmp_path / "project"
    (project / "app").mkdir(parents=True)
    (project / "app" / "main.py").write_text("# the user's app\n", encoding="utf-8")
    args = [backend, "--package", PACKAGE, "--env"]
    args += [] if fastapi else ["--no-fastapi"]
    args += [] if uow else ["--no-uow"]
    args += (
        ["--pool-size", "3", "--max-overflow", "2", "--pool-timeout", "20"] if custom_pool else []
    )
    done = scaffold(project, *args)
    assert done.returncode == 0, done.stderr
    assert "wrote app/db/core/engine.py" in done.stdout
    # this interpreter carries the plugin's own package (and, on the floor, SQLModel), whose
    # caps on SQLAlchemy the line keeps, each with its reason
    cap = re.search(
        r"-m pip install 'sqlalchemy\[asyncio\]>=2\.0\.50,<([\d.]+)' 'pydantic>=2\.11", done.stdout
    )
    assert cap, done.stdout
    assert f"(sqlalchemy<{cap.group(1)}: " in done.stdout
    assert (project / "app" / "main.py").read_text() == "# the user's app\n"
    example = (project / ".env.example").read_text(encoding="utf-8")
    assert f"DB_TYPE={backend}" in example
    assert ("DB_POOL_SIZE=3" in example) == custom_pool

    database = f"scaffold_{backend}_{abs(hash(tmp_path.name)) % 10**8}"
    if backend != "sqlite":
        admin = "TEST_MYSQL_URL" if backend == "mysql" else "TEST_POSTGRES_URL"
        create_database(os.environ[admin], database)  # Supabase: PgBouncer forwards any name
    if custom_pool:  # what the user does: copy the pool lines into their .env
        pool_lines = example[example.index("# Connection pool") :]
    else:
        pool_lines = ""
    (project / ".env").write_text(env_file(backend, project, database) + pool_lines)
    options = ",".join(o for o, on in (("fastapi", fastapi), ("uow", uow)) if on)
    pool_size = "3" if custom_pool else "10"
    ran = run_python(project, str(EXERCISE), PACKAGE, backend, options, pool_size)
    assert ran.returncode == 0, ran.stdout + ran.stderr[-4000:]
    assert "ok: dispose" in ran.stdout


def test_scaffold_reads_the_same_blocks_as_the_runner() -> None:
    """One source of truth: the script's small fence reader agrees with markdown-it."""
    sys.path.insert(0, str(PRODUCT))
    try:
        import scaffold_db
    finally:
        sys.path.pop(0)
    doc = snippets.parse_document(scaffold_db.SOURCE)
    expected = [(b.line, b.lang, b.attrs, b.code) for b in doc.blocks]
    got = [(b.line, b.lang, b.attrs, b.code) for b in scaffold_db.read_blocks()]
    assert got == expected


# --- bad input: a clear message, and the user's files as they were -------------------------


def test_unknown_backend(tmp_path: Path) -> None:
    done = scaffold(tmp_path, "oracle")
    assert done.returncode == 2
    assert (
        "unknown backend 'oracle'; choose one of postgres, supabase, mysql, sqlite" in done.stderr
    )
    assert snapshot(tmp_path) == {}


def test_existing_files_are_never_overwritten(tmp_path: Path) -> None:
    engine = tmp_path / "db" / "core" / "engine.py"
    engine.parent.mkdir(parents=True)
    engine.write_text("# mine\n")
    (tmp_path / ".env.example").write_text("MINE=1\n")
    before = snapshot(tmp_path)
    done = scaffold(tmp_path, "postgres")
    assert done.returncode == 1
    assert "db/core/engine.py" in done.stderr
    assert ".env.example" not in done.stderr  # it is extended, never a conflict
    assert "nothing was written" in done.stderr and "pass --force to replace them" in done.stderr
    assert snapshot(tmp_path) == before  # nothing written, not even the files that were free


def test_force_keeps_a_backup(tmp_path: Path) -> None:
    engine = tmp_path / "db" / "core" / "engine.py"
    engine.parent.mkdir(parents=True)
    engine.write_text("# mine\n")
    done = scaffold(tmp_path, "sqlite", "--force")
    assert done.returncode == 0, done.stderr
    assert "replaced db/core/engine.py (old one kept as engine.py.bak)" in done.stdout
    assert (engine.parent / "engine.py.bak").read_text() == "# mine\n"
    assert "get_engine" in engine.read_text()


def test_existing_env_is_kept(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("DB_PASSWORD=secret\n")
    done = scaffold(tmp_path, "sqlite", "--env")
    assert done.returncode == 0, done.stderr
    assert ".env: kept as it is; it lacks DB_TYPE, DB_NAME" in done.stdout
    assert "--env-add-missing (it only adds)" in done.stdout
    assert "copy .env.example" not in done.stdout  # no hint that would replace the user's file
    assert (tmp_path / ".env").read_text() == "DB_PASSWORD=secret\n"


def readable_copy_of_the_script(top: Path) -> Path:
    """The script and what it reads, in a folder anyone may read: the checkout itself may sit
    in a private (0700) folder that another user cannot enter."""
    import shutil

    for rel in (
        "skills/async-db-layer/scripts/scaffold_db.py",
        "skills/async-db-layer/scripts/preflight.py",
        "skills/async-db-layer/scripts/layout.py",
        "skills/async-db-layer/scripts/resolve.py",
        "skills/async-db-layer/scripts/contract.json",
        "skills/async-db-layer/references/db-package.md",
    ):
        (top / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / rel, top / rel)
    for path in [top, *top.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    return top / "skills/async-db-layer/scripts/scaffold_db.py"


def test_unwritable_destination() -> None:
    """A folder the user may not write to; as root (CI), the script runs as nobody."""
    import shutil
    import tempfile

    top = Path(tempfile.mkdtemp(prefix="scaffold-ro-", dir="/tmp"))
    folder = top / "project"
    folder.mkdir()
    try:
        script = readable_copy_of_the_script(top / "plugin")
        top.chmod(0o755)
        folder.chmod(0o555 if os.geteuid() else 0o755)  # root owns it; nobody may not write
        # nobody cannot reach the venv's interpreter under /root: use the system Python
        prefix = ["runuser", "-u", "nobody", "--", BARE_PYTHON] if os.geteuid() == 0 else []
        done = subprocess.run(
            [*(prefix or [sys.executable]), str(script), "sqlite", "--project", str(folder)],
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        folder.chmod(0o755)
        shutil.rmtree(top)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "its folder is not writable; fix the permissions" in done.stderr


def test_unwritable_destination_as_a_file(tmp_path: Path) -> None:
    """A path that cannot become a folder (a file stands where the package goes)."""
    (tmp_path / "app").write_text("not a folder\n")
    before = snapshot(tmp_path)
    done = scaffold(tmp_path, "sqlite", "--package", "app/db")
    assert done.returncode == 1
    assert "cannot write" in done.stderr or "is not a file" in done.stderr, done.stderr
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--package", "../elsewhere"], "must be a relative path inside the project"),
        (["--package", "app/my-db"], "'my-db' is not a Python package name"),
        (["--pool-size", "0"], "'0' must be at least 1"),
        (["--pool-size", "many"], "'many' is not a whole number"),
    ],
)
def test_bad_options(tmp_path: Path, args: list[str], message: str) -> None:
    done = scaffold(tmp_path, "sqlite", *args)
    assert done.returncode != 0
    assert message in done.stderr
    assert snapshot(tmp_path) == {}


def test_missing_project_folder(tmp_path: Path) -> None:
    done = scaffold(tmp_path / "nope", "sqlite")
    assert done.returncode == 1
    assert "no such folder" in done.stderr


def test_dry_run_writes_nothing(tmp_path: Path) -> None:
    done = scaffold(tmp_path, "mysql", "--dry-run")
    assert done.returncode == 0
    assert "would write db/connectors/mysql.py" in done.stdout
    wanted = " ".join(
        requirement(n) for n in ("pydantic", "pydantic-settings", "fastapi", "alembic", "aiomysql")
    )
    # the plugin's own package in this interpreter caps SQLAlchemy (below 2.2, or 2.1 on the
    # floor, where SQLModel 0.0.45 is installed too)
    assert re.search(
        rf"-m pip install 'sqlalchemy\[asyncio\]>=2\.0\.50,<2\.[12](\.0)?' {re.escape(wanted)}",
        done.stdout,
    ), done.stdout
    assert snapshot(tmp_path) == {}


def run_in_project(project: Path, code: str, env_text: str) -> subprocess.CompletedProcess:
    (project / ".env").write_text(env_text)
    return run_python(project, "-c", code, timeout=60)


def test_malformed_db_value_names_the_variable(tmp_path: Path) -> None:
    assert scaffold(tmp_path, "postgres").returncode == 0
    done = run_in_project(
        tmp_path, "import db; db.get_engine()", "DB_TYPE=postgres\nDB_PORT=fivefour\n"
    )
    assert done.returncode == 1
    assert "DatabaseConfigError" in done.stderr
    assert (
        "DB_PORT or POSTGRES_PORT: Input should be a valid integer, unable to parse string as "
        "an integer (got 'fivefour')" in done.stderr
    )


def test_unreachable_database_says_what_to_check(tmp_path: Path) -> None:
    assert scaffold(tmp_path, "postgres").returncode == 0
    code = "import asyncio, db; asyncio.run(db.check_database())"
    env_text = "DB_TYPE=postgres\nDB_HOST=127.0.0.1\nDB_PORT=1\nDB_PASSWORD=hunter2\n"
    done = run_in_project(tmp_path, code, env_text)
    assert done.returncode == 1
    assert (
        "DatabaseUnavailableError: cannot reach the database at "
        "postgresql+asyncpg://app:***@127.0.0.1:1/app" in done.stderr
    )
    assert "Check that the server runs" in done.stderr
    assert "hunter2" not in done.stderr


def test_connector_missing_for_db_type(tmp_path: Path) -> None:
    assert scaffold(tmp_path, "sqlite").returncode == 0
    done = run_in_project(tmp_path, "import db; db.get_engine()", "DB_TYPE=mysql\n")
    assert done.returncode == 1
    assert "DB_TYPE=mysql but db/connectors/mysql.py is not in this project" in done.stderr


@pytest.mark.skipif(not Path(BARE_PYTHON).exists(), reason="no system Python at /usr/bin/python3")
def test_runs_on_a_bare_python_and_names_what_is_missing(tmp_path: Path) -> None:
    """The script needs nothing but the standard library; it says what the layer needs."""
    done = subprocess.run(
        [BARE_PYTHON, "-I", str(SCAFFOLD), "postgres", "--project", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "wrote db/connectors/postgres.py" in done.stdout
    assert (
        "not installed yet in /usr/bin/python3: sqlalchemy, pydantic, pydantic-settings, "
        "fastapi, alembic, asyncpg" in done.stdout
    )


def test_postgres_faults(tmp_path: Path) -> None:
    """Connections killed by the server, and a pool that is exhausted (real PostgreSQL)."""
    if not os.environ.get("TEST_POSTGRES_URL"):
        server_url("postgres")
    assert scaffold(tmp_path, "postgres").returncode == 0
    database = f"faults_{abs(hash(tmp_path.name)) % 10**8}"
    create_database(os.environ["TEST_POSTGRES_URL"], database)
    pool = "DB_POOL_SIZE=2\nDB_MAX_OVERFLOW=1\nDB_POOL_TIMEOUT=1.5\n"
    (tmp_path / ".env").write_text(env_file("postgres", tmp_path, database) + pool)
    ran = run_python(tmp_path, str(ROOT / "tests" / "faults_exercise.py"), timeout=120)
    assert ran.returncode == 0, ran.stdout + ran.stderr[-4000:]
    assert "ok: terminated" in ran.stdout
    assert "ok: session 4 timed out after 1." in ran.stdout


CONCURRENT = """
import asyncio

from sqlalchemy import literal, select

import db


async def main():
    async def one(i):
        async with db.get_sessionmaker()() as session:
            await session.execute(select(literal(i) + 1))

    results = await asyncio.gather(*[one(i) for i in range(50)], return_exceptions=True)
    failed = [str(r) for r in results if isinstance(r, Exception)]
    print(len(failed))  # a refused startup parameter, or a prepared statement lost
    print(sum("set DB_POOLER=transaction" in f or "pool_mode" in f for f in failed))
    await db.dispose_engine()


asyncio.run(main())
"""


def test_transaction_pooler_setting_is_what_makes_pgbouncer_work(tmp_path: Path) -> None:
    """Through PgBouncer in transaction mode: the Supabase connector (DB_POOLER by its port or
    set) and the postgres one with DB_POOLER=transaction work; the control, postgres without
    it, fails, and each failure says which setting to add."""
    if not os.environ.get("TEST_PGBOUNCER_URL"):
        server_url("pgbouncer")
    assert scaffold(tmp_path, "supabase").returncode == 0
    base = env_file("supabase", tmp_path, "postgres").replace("DB_POOLER=transaction\n", "")
    results = {}
    for case, backend, pooler in [
        ("control", "postgres", ""),
        ("supabase", "supabase", "DB_POOLER=transaction\n"),
        ("postgres", "postgres", "DB_POOLER=transaction\n"),
    ]:
        text = base.replace("DB_TYPE=supabase", f"DB_TYPE={backend}") + pooler
        ran = run_in_project(tmp_path, CONCURRENT, text + "DB_SSL=require\n")
        assert ran.returncode == 0, ran.stderr[-3000:]
        results[case] = [int(n) for n in ran.stdout.split()[-2:]]
    failed, hinted = results["control"]
    assert failed > 0, "the control did not fail: the test could not tell"
    assert hinted == failed, results  # every failure names the setting
    assert results["supabase"] == [0, 0] and results["postgres"] == [0, 0], results


@pytest.mark.skipif(not os.environ.get("FLOOR_RUN"), reason="only in the floor run (.venv-floor)")
def test_the_floor_run_has_the_floor_versions() -> None:
    """The floor run really runs on the contract's floors, and on its oldest Python."""
    from importlib import metadata

    from packaging.version import Version

    for name, spec in CONTRACT["packages"].items():
        assert Version(metadata.version(name)) == Version(spec["floor"]), name
    assert f"{sys.version_info[0]}.{sys.version_info[1]}" == CONTRACT["python"]["floor"]


def test_an_existing_env_example_is_extended_not_replaced(tmp_path: Path) -> None:
    mine = "# the project's own settings\nexport SECRET_KEY=change-me\nDB_PORT=6000"  # no EOL
    (tmp_path / ".env.example").write_text(mine)
    done = scaffold(tmp_path, "postgres", "--no-migrations")
    assert done.returncode == 0, done.stderr
    text = (tmp_path / ".env.example").read_text()
    assert text.startswith(mine + "\n")  # every byte the user had, first
    added = text[len(mine) :]
    assert "DB_TYPE=postgres" in added and "DB_HOST=localhost" in added
    assert "DB_PORT" not in added  # a key the user has is not repeated
    assert "add to .env.example: DB_HOST, DB_NAME, DB_PASSWORD, DB_TYPE, DB_USER" in done.stdout


def test_settings_the_project_has_are_read_not_copied(tmp_path: Path) -> None:
    """The full-stack template's POSTGRES_* in the root .env: no DB_* connection line is
    added anywhere (a placeholder there would win over the real value)."""
    (tmp_path / ".git").mkdir()
    env = "POSTGRES_SERVER=db\nPOSTGRES_USER=u\nPOSTGRES_PASSWORD=s3cret\nPOSTGRES_DB=d\n"
    (tmp_path / ".env").write_text(env)
    (tmp_path / "backend" / "app").mkdir(parents=True)
    (tmp_path / "backend" / "app" / "__init__.py").write_text("")
    (tmp_path / "backend" / "pyproject.toml").write_text("[project]\nname = 'b'\n")
    done = scaffold(tmp_path, "postgres", "--package", "backend/app/db", "--env-add-missing")
    assert done.returncode == 0, done.stderr
    assert "reads your POSTGRES_* settings as they are" in done.stdout
    assert ".env: kept as it is; it has what the layer reads" in done.stdout
    assert (tmp_path / ".env").read_text() == env
    assert not (tmp_path / ".env.example").exists()  # nothing left to document
    assert "import it as: app.db (from backend/)" in done.stdout
    assert not (tmp_path / "backend" / "__init__.py").exists()
    code = "from app.db.configuration.settings import load_settings; s = load_settings(); "
    code += "print(s.type, s.host, s.user, s.name, s.password.get_secret_value())"
    ran = subprocess.run(  # started in another folder than the .env's
        [sys.executable, "-c", code],
        cwd=tmp_path / "backend" / "app",
        env=project_env(tmp_path / "backend"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ran.stdout.split() == ["postgres", "db", "u", "d", "s3cret"], ran.stderr


def test_env_add_missing_only_adds(tmp_path: Path) -> None:
    mine = "APP=1\n# keep me\nDB_NAME=mine.db\n"
    (tmp_path / ".env").write_text(mine)
    done = scaffold(tmp_path, "sqlite", "--env-add-missing")
    assert done.returncode == 0, done.stderr
    text = (tmp_path / ".env").read_text()
    assert text.startswith(mine) and "DB_TYPE=sqlite" in text[len(mine) :]
    assert "DB_NAME" not in text[len(mine) :]
    assert ".env: adding DB_TYPE; no line there is changed" in done.stdout


def test_db_env_file_that_is_not_there_is_named(tmp_path: Path) -> None:
    assert scaffold(tmp_path, "sqlite").returncode == 0
    env = project_env(tmp_path) | {"DB_ENV_FILE": str(tmp_path / "nope.env")}
    done = subprocess.run(
        [sys.executable, "-c", "import db; db.get_engine()"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert f"DatabaseConfigError: DB_ENV_FILE={tmp_path / 'nope.env'}: no such file" in done.stderr


def test_a_sqlmodel_project_gets_sqlmodel_sessions(tmp_path: Path) -> None:
    """Where the project imports sqlmodel, both dependencies' sessions have exec(); the
    summary says so and why. Elsewhere nothing of SQLModel is written."""
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "__init__.py").write_text("")
    (tmp_path / "app" / "models.py").write_text(
        "from sqlmodel import Field, SQLModel\n\n\nclass Hero(SQLModel, table=True):\n"
        "    id: int | None = Field(default=None, primary_key=True)\n    name: str\n"
    )
    done = scaffold(tmp_path, "sqlite", "--package", "app/db", "--env")
    assert done.returncode == 0, done.stderr
    assert (
        "sessions: SQLModel's AsyncSession (the project imports sqlmodel at app/models.py:1)"
        in done.stdout
    )
    assert (tmp_path / "app" / "db" / "core" / "sqlmodel_sessions.py").is_file()
    code = """
import asyncio
from sqlmodel import SQLModel, select
from app.db import DBSession, ReadSession, get_engine, get_read_sessionmaker, get_sessionmaker
from app.models import Hero

async def main():
    async with get_engine().begin() as conn:
        await conn.run_sync(SQLModel.metadata.create_all)
    async with get_sessionmaker()() as session:
        session.add(Hero(name="Rusty-Man"))
        await session.commit()
    async with get_read_sessionmaker()() as reader:
        print((await reader.exec(select(Hero.name))).all())
    print(DBSession.__origin__.__name__, ReadSession.__metadata__[0].dependency.__name__)

asyncio.run(main())
"""
    ran = run_python(tmp_path, "-c", code)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.splitlines() == ["['Rusty-Man']", "AsyncSession get_read_session"]

    plain = tmp_path / "plain"
    plain.mkdir()
    assert scaffold(plain, "sqlite").returncode == 0
    assert not (plain / "db" / "core" / "sqlmodel_sessions.py").exists()


def test_a_package_that_would_hide_a_module_is_refused(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "__init__.py").write_text("")
    (tmp_path / "src" / "database.py").write_text("engine = None\n")
    before = snapshot(tmp_path)
    for extra in (["--dry-run"], []):
        done = scaffold(tmp_path, "sqlite", "--package", "src/database", *extra)
        assert done.returncode == 1
        assert "--package src/database would hide src/database.py" in done.stderr
        assert "e.g. --package src/db" in done.stderr
        assert snapshot(tmp_path) == before


def test_the_import_name_is_the_one_the_project_runs_with(tmp_path: Path) -> None:
    """src/ is itself a package and the project starts as `uvicorn src.main:app` from the
    root: the layer is `src.db`, imported from the root, and it imports that way."""
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "__init__.py").write_text("")
    (tmp_path / "src" / "main.py").write_text("from fastapi import FastAPI\n\napp = FastAPI()\n")
    (tmp_path / "Dockerfile").write_text('FROM python:3.12\nCMD ["uvicorn", "src.main:app"]\n')
    done = scaffold(tmp_path, "sqlite", "--package", "src/db", "--env")
    assert done.returncode == 0, done.stderr
    assert (
        "import it as: src.db (from the project root); as the project runs: "
        "`src.main:app` in Dockerfile:2" in done.stdout
    )
    ran = run_python(tmp_path, "-c", "import asyncio, src.db; asyncio.run(src.db.check_database())")
    assert ran.returncode == 0, ran.stderr


def mysql_project(project: Path) -> None:
    """A project whose own engines reach MySQL through WRITER_DB_URL / READER_DB_URL, with
    its own settings and Alembic, as a poetry + MySQL boilerplate has them."""
    (project / "core" / "db").mkdir(parents=True)
    (project / "core" / "config.py").write_text(
        "class Config:\n"
        '    WRITER_DB_URL: str = "mysql+aiomysql://fastapi:fastapi@localhost:3306/fastapi"\n'
        '    READER_DB_URL: str = "mysql+aiomysql://fastapi:fastapi@localhost:3306/fastapi"\n\n\n'
        "config = Config()\n"
    )
    (project / "core" / "db" / "session.py").write_text(
        "from sqlalchemy.ext.asyncio import create_async_engine\n\n"
        "from core.config import config\n\n"
        "engines = {\n    'writer': create_async_engine(config.WRITER_DB_URL, pool_recycle=3600),\n"
        "    'reader': create_async_engine(config.READER_DB_URL, pool_recycle=3600),\n}\n"
    )
    (project / ".env").write_text(
        "DATABASE_URL=mysql+aiomysql://fastapi:fastapi@localhost/fastapi\n"
    )


def test_a_project_on_another_database_gets_a_second_database(tmp_path: Path) -> None:
    """Asked for PostgreSQL in a MySQL project: the layer reads PG_* only, never the
    project's DATABASE_URL; nothing of the project's set-up is rewired."""
    url = os.environ.get("TEST_POSTGRES_URL") or pytest.skip("no PostgreSQL")
    mysql_project(tmp_path)
    before = snapshot(tmp_path)
    done = scaffold(tmp_path, "postgres", "--package", "pgdb")
    assert done.returncode == 0, done.stderr
    assert (
        "database: a second database. The project's own database code (core/db/session.py:6"
        in done.stdout
    )
    assert (
        "reaches mysql and is left as it is, Alembic included; the layer reaches postgres and "
        "reads only PG_* settings" in done.stdout
    )
    names = (tmp_path / "pgdb" / "configuration" / "names.py").read_text()
    assert 'PREFIX = "PG_"' in names and "SHARED = False" in names
    example = (tmp_path / ".env.example").read_text()
    assert "PG_HOST=" in example and "\nDB_" not in example
    changed = {k for k, v in snapshot(tmp_path).items() if before.get(k) != v}
    assert changed <= {k for k in snapshot(tmp_path) if k.startswith("pgdb/")} | {".env.example"}
    code = (
        "import asyncio, pgdb\nfrom sqlalchemy import text\n"
        "async def main():\n    await pgdb.check_database()\n"
        "    async with pgdb.get_sessionmaker()() as s:\n"
        "        print(s.bind.dialect.name, await s.scalar(text('SELECT 1')))\n"
        "    await pgdb.dispose_engine()\nasyncio.run(main())\n"
    )
    env = project_env(tmp_path) | {"PG_URL": url}  # the project's DATABASE_URL stays mysql
    ran = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip() == "postgresql 1"


def test_the_same_database_names_the_two_pools(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "database.py").write_text(
        "from sqlalchemy.ext.asyncio import create_async_engine\n\n"
        "from app.settings import settings\n\n"
        "engine = create_async_engine(\n"
        "    settings.DATABASE_URL, pool_size=settings.DATABASE_POOL_SIZE\n)\n"
    )
    (tmp_path / ".env").write_text(
        "DATABASE_URL=postgresql+asyncpg://app:secret@db/app\nDATABASE_POOL_SIZE=16\n"
    )
    done = scaffold(tmp_path, "postgres", "--package", "app/db", "--dry-run")
    assert done.returncode == 0, done.stderr
    assert (
        "database: the same database as the project's own engine "
        "(app/database.py:5 (postgres: DATABASE_URL (set in .env:1)))" in done.stdout
    )
    assert "the project's (DATABASE_POOL_SIZE=16 (.env:2))" in done.stdout
    assert "set DB_POOL_SIZE=16 and DB_MAX_OVERFLOW" in done.stdout
    assert "the layer reads your DATABASE_URL settings as they are" in done.stdout


def test_replicas_are_for_postgresql_only(tmp_path: Path) -> None:
    """--replicas on MySQL is refused before anything is written; on PostgreSQL it adds one
    file, core/replicas.py, and nothing else changes."""
    (tmp_path / "m").mkdir()
    refused = scaffold(tmp_path / "m", "mysql", "--replicas")
    assert refused.returncode != 0
    assert "--replicas: read replicas are for PostgreSQL" in refused.stderr
    assert not (tmp_path / "m" / "db").exists()
    plain, replicas = tmp_path / "plain", tmp_path / "replicas"
    plain.mkdir()
    replicas.mkdir()
    assert scaffold(plain, "postgres").returncode == 0
    assert scaffold(replicas, "postgres", "--replicas").returncode == 0
    assert snapshot(replicas / "db").keys() - snapshot(plain / "db").keys() == {"core/replicas.py"}
