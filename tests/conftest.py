"""Shared test settings: which prompts to run, and which servers a run may use."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# What runs in a user's project: the scaffold script, its preflight and the version contract.
PRODUCT = ROOT / "skills" / "async-db-layer" / "scripts"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
# The fixture projects are users' projects with tests of their own, run in their own venvs
# by test_fixture_projects.py; pytest here must not collect them or load their conftest.py.
collect_ignore = ["fixtures"]


def need_server(what: str, hint: str) -> None:
    """Skip a test that needs a server this machine lacks; under CI=true, fail instead."""
    message = f"no {what}: {hint}"
    if IN_CI:
        pytest.fail(f"CI=true and {message}; CI must start it (see .ci/run)", pytrace=False)
    pytest.skip(message)


DEFAULT_SERVERS_DIR = "/tmp/fastapi-async-db-servers"  # scripts/servers.sh's own default
SERVERS = {  # marker: (the variable scripts/servers.sh writes, what it is)
    "postgres": ("TEST_POSTGRES_URL", "PostgreSQL server"),
    "pgbouncer": ("TEST_PGBOUNCER_URL", "PgBouncer"),
    "mysql": ("TEST_MYSQL_URL", "MariaDB server"),
    "replica": ("TEST_REPLICA_URL", "streaming replica of the test PostgreSQL"),
}
# Tests that start servers, tools or virtualenvs; the rest run in-process in seconds
# (`pytest -m unit`). Prompt documents carry `prompts`, and `postgres` when they need it.
INTEGRATION = {
    "test_scaffold": ("postgres", "pgbouncer", "mysql"),
    "test_fixture_projects": ("postgres",),
    "test_bench": ("postgres", "pgbouncer"),
    "test_fuzz_apps": ("postgres",),
    "test_layer_inputs": ("postgres",),
    "test_snippets": ("postgres",),
    "test_claude_cli": (),
    "test_demo": (),
    "test_preflight": (),
    "test_hook": (),  # a python3 process per call, as Claude Code runs it
    "test_read_session": ("postgres",),
    "test_resolve": (),  # the real uv, poetry and pip resolvers, on PyPI
    "test_doctor": (),  # the script's own processes, as the command runs it
    "test_faults": ("postgres", "pgbouncer", "mysql"),
    "test_replicas": ("postgres", "replica"),
}


def server_url(name: str) -> str:
    """The URL of a test server (postgres, pgbouncer, mysql); skip without it, fail in CI."""
    variable, what = SERVERS[name]
    url = os.environ.get(variable)
    if not url:
        need_server(what, f"set {variable}, or run scripts/test.sh")
    return url


@pytest.fixture
def postgres_url() -> str:
    return server_url("postgres")


@pytest.fixture
def pgbouncer_url() -> str:
    return server_url("pgbouncer")


@pytest.fixture
def mysql_url() -> str:
    return server_url("mysql")


@pytest.fixture
def replica_url() -> str:
    """The shared streaming replica: read it, never pause, stop or promote it."""
    server_url("postgres")
    return server_url("replica")


@pytest.fixture
def own_cluster():
    """A small PostgreSQL primary and its streaming standby for this test alone (scripts/
    servers.sh cluster), to pause, stop, kill or promote; removed afterwards. Yields
    (name, primary URL, standby URL)."""
    import socket
    import subprocess

    server_url("replica")
    ports = []
    for _ in range(2):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            ports.append(s.getsockname()[1])
    name = f"c{ports[0]}"
    servers = [str(ROOT / "scripts" / "servers.sh")]
    env = os.environ | {"SERVERS_DIR": os.environ.get("SERVERS_DIR", DEFAULT_SERVERS_DIR)}
    made = subprocess.run(
        [*servers, "cluster", name, *map(str, ports)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    try:
        assert made.returncode == 0, made.stderr
        primary, standby = made.stdout.split()
        yield name, primary, standby
    finally:
        subprocess.run([*servers, "drop", name], capture_output=True, env=env, timeout=120)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.suffix == ".md":
            item.add_marker("prompts")
            continue
        servers = INTEGRATION.get(item.path.stem)
        if servers is None:
            item.add_marker("unit")
            continue
        item.add_marker("integration")
        for name in servers:
            item.add_marker(name)


def load_script(path: Path, name: str):
    """A standalone script of the plugin as a module (it is not on any import path)."""
    import importlib.util
    import sys

    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def find_python(version: str) -> str | None:
    """An interpreter of this minor version (`3.10`) that really runs: on PATH, or one of
    pyenv's builds (its shims answer only for the active version), or Debian's."""
    import glob
    import shutil
    import subprocess

    candidates = [shutil.which(f"python{version}") or ""]
    candidates += sorted(glob.glob(os.path.expanduser(f"~/.pyenv/versions/{version}.*/bin/python")))
    candidates.append(f"/usr/bin/python{version}")
    for candidate in filter(None, candidates):
        try:
            done = subprocess.run([candidate, "--version"], capture_output=True, timeout=20)
        except OSError:
            continue
        if done.returncode == 0 and done.stdout.decode().startswith(f"Python {version}."):
            return candidate
    return None


def postgres_admin(*statements: str) -> None:
    """Run each statement on the `postgres` database of the server in TEST_POSTGRES_URL,
    outside a transaction (CREATE DATABASE needs that)."""
    from bench.serve import admin
    from sqlalchemy.engine import make_url

    admin(make_url(os.environ["TEST_POSTGRES_URL"]), *statements)


def database_url(backend: str, tmp_path: Path, name: str) -> str:
    """A fresh, empty database for one test: a file on SQLite, a new database on the test
    PostgreSQL server (dropped first if a run before left it)."""
    if backend == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / f'{name}.db'}"
    server_url("postgres")
    from sqlalchemy.engine import make_url

    postgres_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"')
    url = make_url(os.environ["TEST_POSTGRES_URL"]).set(database=name)
    return url.render_as_string(hide_password=False)


def materialize(sample: Path, dest: Path) -> Path:
    """Write the files a sample holds (each after a line `# === path`) under `dest`."""
    current = None
    for line in sample.read_text(encoding="utf-8").splitlines(keepends=True):
        if line.startswith("# === "):
            current = dest / line[6:].strip()
            current.parent.mkdir(parents=True, exist_ok=True)
            current.write_text("", encoding="utf-8")
        elif current is not None:
            with current.open("a", encoding="utf-8") as handle:
                handle.write(line)
    return dest


@pytest.fixture(scope="module")
def layer_package(tmp_path_factory: pytest.TempPathFactory):
    """The scaffolded db/ package (PostgreSQL), imported as `propdb` (imports inside it are
    relative, so any name works): the reference's own code, not a copy."""
    import importlib
    import subprocess
    import sys

    project = tmp_path_factory.mktemp("layer")
    done = subprocess.run(
        [sys.executable, str(PRODUCT / "scaffold_db.py"), "postgres"]
        + ["--project", str(project), "--package", "propdb", "--no-migrations"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    sys.path.insert(0, str(project))
    try:
        yield importlib.import_module("propdb")
    finally:
        sys.path.remove(str(project))
        for name in [m for m in sys.modules if m == "propdb" or m.startswith("propdb.")]:
            del sys.modules[name]


@pytest.fixture(scope="module")
def claude() -> str:
    """The pinned Claude Code CLI (scripts/bootstrap.sh installs it); missing fails under CI."""
    candidate = os.environ.get("CLAUDE_BIN") or str(ROOT / ".tools/node_modules/.bin/claude")
    if not Path(candidate).exists():
        need_server("Claude Code CLI", "run scripts/bootstrap.sh (npm installs it into .tools)")
    return candidate
