"""No route through a read dependency answers 2xx with a write not stored: the scaffolded
layer, fastapi-app.md and the ServiceBase app, on SQLite and PostgreSQL, over generated routes
(tests/read_session_exercise.py runs inside each project and says what it checks).

The same routes through the write dependency must answer their status with every write
stored: that proves each generated way of writing really writes."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import bench
import pytest
from conftest import PRODUCT, ROOT, database_url, postgres_admin

EXERCISE = ROOT / "tests" / "read_session_exercise.py"
EXAMPLES = int(os.environ.get("READ_SESSION_EXAMPLES", "60"))  # generated routes per run


def prepare_layer(project: Path, backend: str) -> str:
    done = subprocess.run(
        [sys.executable, str(PRODUCT / "scaffold_db.py"), backend.replace("postgresql", "postgres")]
        + ["--project", str(project), "--package", "rsdb", "--no-migrations"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return "layer:rsdb"


def prepare_document(name: str):
    variant = next(v for v in bench.VARIANTS if v.name.startswith(name))

    def prepare(project: Path, backend: str) -> str:
        variant.prepare(project)
        return {"async-sqlalchemy": "fastapi-app", "async-sqlmodel": "servicebase"}[name]

    return prepare


APPS = {
    "layer": prepare_layer,
    "fastapi-app": prepare_document("async-sqlalchemy"),
    "servicebase": prepare_document("async-sqlmodel"),
}


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
@pytest.mark.parametrize("app", sorted(APPS))
def test_a_read_route_never_answers_2xx_with_a_write_lost(
    tmp_path: Path, app: str, backend: str
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    flavour = APPS[app](project, backend)
    name = re.sub(r"\W+", "_", f"rs_{app}_{os.getpid()}").lower()
    url = database_url("sqlite" if backend == "sqlite" else "postgres", tmp_path, name)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DB_", "DATABASE_URL"))}
    env |= {"DATABASE_URL": url, "PYTHONPATH": str(project)}
    try:
        done = subprocess.run(
            [sys.executable, str(EXERCISE), flavour, str(EXAMPLES), "18"],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
    finally:
        if backend == "postgresql":
            postgres_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.splitlines()[-1])
    seen = report["seen"]
    print(f"{app} on {backend}: {json.dumps(seen)}")
    assert report["violations"] == []
    # both sides ran: the read side never 2xx, the write side answered what the routes chose
    assert not [k for k in seen if k.startswith("read ") and k[5:6] == "2"]
    assert seen.get("read 500", 0) == sum(seen.get(f"write {s}", 0) for s in (200, 201, 204))
    ways = {k.split(" way ")[1] for k in seen if k.startswith("read way ")}
    assert {"orm_add", "orm_change", "orm_delete", "text_insert", "driver_sql"} <= ways
    if backend == "postgresql":
        assert "text_cte" in ways
    if app == "servicebase":
        assert {"service_create", "service_get_and_change"} <= ways
