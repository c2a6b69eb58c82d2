"""The preflight: the project's own interpreter is found and checked against the version
contract before anything is written; below it, nothing is written and the message gives the
fix in the project's own tool.

The interpreters are real virtual environments. Their packages are installed as metadata
only (a dist-info folder, what `importlib.metadata` reads and what the check looks at); the
fixture projects in test_fixture_projects.py install the real packages.
"""

from __future__ import annotations

import json
import subprocess
import sys
import venv
from pathlib import Path

import pytest
from conftest import PRODUCT, find_python
from test_scaffold import requirement, scaffold, snapshot

CONTRACT = json.loads((PRODUCT / "contract.json").read_text(encoding="utf-8"))
LATEST = {"sqlalchemy": "2.1.9", "greenlet": "3.2.0", "pydantic": "2.14.4"}
LATEST |= {"pydantic-settings": "2.16.3", "fastapi": "0.165.0", "alembic": "1.20.1"}
LATEST |= {"asyncpg": "0.32.0", "aiosqlite": "0.22.1"}


def make_venv(folder: Path, packages: dict, python: str | None = None, pip: bool = False) -> Path:
    """A real venv (with pip only when asked) whose site-packages holds these distributions'
    metadata: name -> version, or name -> (version, its Requires-Dist lines)."""
    if python:
        subprocess.run([python, "-m", "venv", "--without-pip", str(folder)], check=True)
    else:
        venv.EnvBuilder(with_pip=pip).create(folder)
    interpreter = folder / "bin" / "python"
    site = subprocess.run(
        [str(interpreter), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    for name, spec in packages.items():
        version, requires = spec if isinstance(spec, tuple) else (spec, [])
        info = Path(site) / f"{name.replace('-', '_')}-{version}.dist-info"
        info.mkdir(parents=True)
        lines = [f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}"]
        info.joinpath("METADATA").write_text(
            "\n".join(lines + [f"Requires-Dist: {r}" for r in requires]) + "\n"
        )
    return interpreter


def uv_project(root: Path) -> None:
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text('[project]\nname = "demo"\nversion = "0"\n')
    (root / "uv.lock").write_text("version = 1\n")


def test_fastapi_below_the_floor_in_a_uv_venv(tmp_path: Path) -> None:
    project = tmp_path / "p"
    uv_project(project)
    make_venv(project / ".venv", LATEST | {"fastapi": "0.115.2"})
    before = snapshot(project)
    done = scaffold(project, "postgres", "--package", "app/db")
    assert done.returncode == 1, done.stdout
    assert "nothing was written" in done.stderr
    assert "checked .venv/bin/python (the project's .venv)" in done.stderr
    assert "fastapi 0.115.2 is below 0.121: Depends(..., scope=" in done.stderr
    assert f"fix it with:\n  uv add {requirement('fastapi')}\n" in done.stderr
    assert snapshot(project) == before


def test_pydantic_v1_in_a_poetry_project(tmp_path: Path) -> None:
    project = tmp_path / "p"
    project.mkdir()
    (project / "pyproject.toml").write_text('[tool.poetry]\nname = "demo"\nversion = "0"\n')
    (project / "poetry.lock").write_text("")
    make_venv(project / ".venv", LATEST | {"pydantic": "1.10.13", "fastapi": "0.99.1"})
    before = snapshot(project)
    done = scaffold(project, "sqlite", "--package", "app/db")
    assert done.returncode == 1, done.stdout
    assert "pydantic 1.10.13 is below 2.11: the layer's settings need pydantic 2" in done.stderr
    assert "https://docs.pydantic.dev/latest/migration/" in done.stderr
    assert f"poetry add {requirement('pydantic')} {requirement('fastapi')}" in done.stderr
    assert snapshot(project) == before


def test_python_below_the_floor(tmp_path: Path) -> None:
    old = find_python("3.10")
    if not old:
        pytest.skip("no python3.10 on this machine to build an old venv with")
    project = tmp_path / "p"
    project.mkdir()
    make_venv(project / ".venv", LATEST, python=old)
    before = snapshot(project)
    done = scaffold(project, "sqlite", "--package", "app/db")
    assert done.returncode == 1, done.stdout
    assert "Python 3.10." in done.stderr and "is below 3.11" in done.stderr
    assert "python3.11 -m venv .venv" in done.stderr
    assert snapshot(project) == before


def test_pip_project_gets_its_own_interpreter_in_the_fix(tmp_path: Path) -> None:
    project = tmp_path / "p"
    project.mkdir()
    make_venv(project / "venv", LATEST | {"sqlalchemy": "2.0.30"})
    done = scaffold(project, "sqlite", "--package", "app/db", "--dry-run")
    assert done.returncode == 1
    assert f"venv/bin/python -m pip install {requirement('sqlalchemy')}" in done.stderr
    assert "pool_pre_ping cannot replace a connection" in done.stderr


def test_workspace_member_gets_the_command_in_its_folder(tmp_path: Path) -> None:
    """A uv workspace: one .venv and lock at the root, the app in backend/."""
    uv_project(tmp_path)
    (tmp_path / "backend" / "app").mkdir(parents=True)
    (tmp_path / "backend" / "app" / "__init__.py").write_text("")
    (tmp_path / "backend" / "pyproject.toml").write_text('[project]\nname = "b"\nversion = "0"\n')
    make_venv(tmp_path / ".venv", LATEST | {"fastapi": "0.120.4"})
    done = scaffold(tmp_path, "postgres", "--package", "backend/app/db")
    assert done.returncode == 1
    assert f"cd backend && uv add {requirement('fastapi')}" in done.stderr


def test_versions_at_the_floor_pass_and_the_install_line_is_the_tools(tmp_path: Path) -> None:
    project = tmp_path / "p"
    uv_project(project)
    floors = {n: s["floor"] for n, s in CONTRACT["packages"].items()}
    make_venv(project / ".venv", floors | {"greenlet": "3.1.1"})
    done = scaffold(project, "sqlite", "--package", "app/db", "--no-migrations")
    assert done.returncode == 0, done.stderr
    names = ("sqlalchemy", "pydantic", "pydantic-settings", "fastapi", "aiosqlite")
    assert f"install: uv add {' '.join(requirement(n) for n in names)}\n" in done.stdout
    assert "alembic" not in done.stdout.split("install:")[1]


def test_missing_interpreter_is_named(tmp_path: Path) -> None:
    done = scaffold(tmp_path, "sqlite", "--python", str(tmp_path / "nope" / "python"))
    assert done.returncode == 1
    assert "--python" in done.stderr and "no such file" in done.stderr
    assert "nothing was written" in done.stderr
    assert snapshot(tmp_path) == {}


def test_the_probe_runs_on_old_pythons() -> None:
    """The probe is plain enough for any Python the user may have on PATH."""
    sys.path.insert(0, str(PRODUCT))
    try:
        import preflight
    finally:
        sys.path.pop(0)
    found = {v: find_python(v) for v in ("3.8", "3.9", "3.10")}
    if not any(found.values()):
        pytest.skip("no Python 3.8-3.10 on this machine")
    for version, old in found.items():
        if old:
            answer = preflight.probe(Path(old), ["fastapi", "pip"])
            assert answer["python"].startswith(version + "."), answer
            assert set(answer["packages"]) == {"fastapi", "pip"}


def test_the_script_itself_runs_on_old_pythons(tmp_path: Path) -> None:
    """`python3` may be older than the project's interpreter: the script runs on it, and
    checks the project's (here --python)."""
    found = {v: find_python(v) for v in ("3.8", "3.9", "3.10")}
    if not any(found.values()):
        pytest.skip("no Python 3.8-3.10 on this machine")
    for version, old in found.items():
        if not old:
            continue
        project = tmp_path / version
        project.mkdir()
        done = subprocess.run(
            [old, str(PRODUCT / "scaffold_db.py"), "sqlite", "--project", str(project)]
            + ["--package", "app/db", "--python", sys.executable],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, (version, done.stderr)
        assert (project / "app" / "db" / "configuration" / "env_files.py").is_file()
