"""Projects shaped like the ones users have (tests/fixtures/projects/*), each taken
through /setup-database's phases on real PostgreSQL, with its own pinned versions in its own
virtual environment:

preflight and dry run, scaffold (or a stop that writes nothing and names the fix), the
install line, the wiring (the fixture's `_wired/` files: what Claude writes into the app),
migrations through the agent's reference (a new Alembic set-up from references/migrations.md,
an existing one left as it is, or an existing env.py adapted), then the checks of phase 6:
import by the name the script printed, check_database() from two working folders, and the
project's own tests before and after. Each project ends working with its database secret in
exactly one file, or stopped with nothing written.
"""

from __future__ import annotations

import ast
import json
import os
import re
import secrets
import shlex
import shutil
import string
import subprocess
import sys
from pathlib import Path

import pytest
import snippets
from conftest import PRODUCT, ROOT, find_python, postgres_admin, server_url
from sqlalchemy.engine import make_url

FIXTURES = ROOT / "tests" / "fixtures" / "projects"
NAMES = sorted(p.name for p in FIXTURES.iterdir() if (p / "fixture.json").is_file())
SCAFFOLD = PRODUCT / "scaffold_db.py"
CONTRACT = json.loads((PRODUCT / "contract.json").read_text(encoding="utf-8"))
SKIP_DIRS = {".venv", ".git", "__pycache__", ".pytest_cache"}


# --- the project and its environment ------------------------------------------------------


def files_of(project: Path) -> dict[str, bytes]:
    out = {}
    for path in project.rglob("*"):
        rel = path.relative_to(project)
        if path.is_file() and not SKIP_DIRS & set(rel.parts):
            out[rel.as_posix()] = path.read_bytes()
    return out


def copy_project(source: Path, project: Path, values: dict[str, str]) -> None:
    """The fixture as a user has it: `dot-env` files become `.env`, with the database's
    credentials filled in; a git repository marks the project root."""
    for path in source.rglob("*"):
        rel = path.relative_to(source)
        if rel.parts[0] in ("_wired", "fixture.json") or not path.is_file():
            continue
        name = rel.name.replace("dot-env", ".env")
        target = project / rel.parent / name
        target.parent.mkdir(parents=True, exist_ok=True)
        text = path.read_text(encoding="utf-8")
        if name.startswith(".env"):
            text = string.Template(text).substitute(values)
        target.write_text(text, encoding="utf-8")
    subprocess.run(["git", "init", "-q", str(project)], check=True)


def database_for(name: str) -> dict[str, str]:
    """A role with its own password and a database it owns, on the test server."""
    admin = make_url(os.environ["TEST_POSTGRES_URL"])
    slug = re.sub(r"\W", "_", name)
    values = {
        "host": admin.host,
        "port": str(admin.port),
        "user": f"fx_{slug}",
        "password": f"pw-{secrets.token_hex(8)}",
        "db": f"fx_{slug}",
    }

    postgres_admin(
        f'DROP DATABASE IF EXISTS "{values["db"]}" WITH (FORCE)',
        f'DROP ROLE IF EXISTS "{values["user"]}"',
        f"CREATE ROLE \"{values['user']}\" LOGIN PASSWORD '{values['password']}'",
        f'CREATE DATABASE "{values["db"]}" OWNER "{values["user"]}"',
    )
    if os.environ.get("TEST_MYSQL_URL"):  # for the projects whose own database is MySQL
        from test_scaffold import create_database

        mysql = make_url(os.environ["TEST_MYSQL_URL"])
        create_database(os.environ["TEST_MYSQL_URL"], values["db"])
        values |= {"mysql_host": mysql.host, "mysql_port": str(mysql.port)}
        values |= {"mysql_user": mysql.username, "mysql_password": mysql.password}
        values["mysql_db"] = values["db"]
    return values


def make_venv(project: Path, spec: dict) -> Path:
    python = find_python(CONTRACT["python"]["floor"])
    if python is None:
        pytest.fail(f"no Python {CONTRACT['python']['floor']} to build the fixture's venv with")
    venv = project / spec["venv"]
    subprocess.run([python, "-m", "venv", str(venv)], check=True, timeout=120)
    pip(venv / "bin" / "python", spec["pins"])
    return venv / "bin"


def pip(python: Path, requirements: list[str]) -> None:
    done = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        + requirements,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]


def run(
    command: list[str] | str, cwd: Path, venv_bin: Path, timeout: int = 180
) -> subprocess.CompletedProcess:
    """A command in the user's project, with the project's venv first on PATH and none of our
    database variables."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DB_", "DATABASE_URL", "POSTGRES_", "VIRTUAL_ENV", "PYTHONPATH"))
    }
    env["PATH"] = f"{venv_bin}{os.pathsep}{env.get('PATH', '')}"
    env["POETRY_VIRTUALENVS_IN_PROJECT"] = "true"  # poetry uses the project's .venv
    shell = isinstance(command, str)
    return subprocess.run(
        ["bash", "-c", command] if shell else command,
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def ok(done: subprocess.CompletedProcess) -> str:
    assert done.returncode == 0, f"{done.args}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


def pytest_passed(done: subprocess.CompletedProcess) -> int:
    ok(done)
    found = re.search(r"(\d+) passed", done.stdout)
    assert found, done.stdout
    return int(found.group(1))


# --- migrations, from the agent's reference -------------------------------------------------


def reference_file(path: str) -> str:
    doc = snippets.parse_document(ROOT / "references" / "migrations.md")
    return next(b.code for b in doc.blocks if b.attrs.get("file") == path)


def reference_env_py(module: str, models: str, path: str | None) -> str:
    """The reference's env.py with the project's names, as the agent adapts it."""
    code = reference_file("migrations/env.py")
    code = code.replace("from app.db.", f"from {module}.").replace("app.models", models)
    if path:
        code = code.replace("str(HERE.parent))", f'str(HERE.parent / "{path}"))')
    return code


def adapted_env_py(original: str) -> str:
    """The project's own env.py with the reference's parts added: the layer's engine and the
    guards loaded by path (the function comes from the reference's block, not a copy)."""
    reference = reference_file("migrations/env.py")
    tree = ast.parse(reference)
    loader = next(
        n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "load_beside"
    )
    added = "\n".join(
        [
            "from app.db.configuration.settings import load_settings  # noqa: E402",
            "from app.db.core.factory import get_connector  # noqa: E402",
            "import importlib.util  # noqa: E402",
            "from pathlib import Path  # noqa: E402",
            "",
            "HERE = Path(__file__).resolve().parent",
            "",
            "",
            ast.get_source_segment(reference, loader),
            "",
            "",
            'guards = load_beside("guards")',
        ]
    )
    models = "from app.models import Base  # noqa: E402\n"
    edits = [
        (models, models + added + "\n"),
        (
            "engine = create_async_engine(settings.async_url)",
            "engine = get_connector(load_settings()).create_engine()",
        ),
        (
            "    context.configure(connection=connection, target_metadata=target_metadata, "
            "compare_type=True)",
            "    guards.refuse_data_loss(context, connection)\n"
            "    context.configure(\n"
            "        connection=connection,\n"
            "        target_metadata=target_metadata,\n"
            "        compare_type=True,\n"
            "        process_revision_directives=guards.drop_empty_revisions,\n"
            "    )",
        ),
    ]
    for old, new in edits:
        assert old in original, old
        original = original.replace(old, new, 1)
    return original


def migrate(project: Path, spec: dict, venv_bin: Path) -> list[str]:
    """Phase 5 as the agent does it; returns what was seen."""
    m = spec["migrations"]
    cwd = project / m["cwd"]
    seen = []
    if m["mode"] == "reference":
        ok(run(["alembic", "init", "-t", "async", "migrations"], cwd, venv_bin))
        ini = cwd / "alembic.ini"
        ini.write_text(
            re.sub(
                r"(?m)^sqlalchemy.url = .*$",
                "# sqlalchemy.url is not used: migrations/env.py reads the app settings",
                ini.read_text(),
            )
        )
        (cwd / "migrations" / "env.py").write_text(
            reference_env_py(m["module"], m["models"], m.get("path"))
        )
        (cwd / "migrations" / "guards.py").write_text(reference_file("migrations/guards.py"))
        ok(run(["alembic", "revision", "--autogenerate", "-m", "first"], cwd, venv_bin))
        ok(run(["alembic", "upgrade", "head"], cwd, venv_bin))
        seen.append("new Alembic set-up from the reference: autogenerate, upgrade")
    elif m["mode"] == "adapt":
        env_py = cwd / m["folder"] / "env.py"
        env_py.write_text(adapted_env_py(env_py.read_text()))
        (cwd / m["folder"] / "guards.py").write_text(reference_file("migrations/guards.py"))
        versions = cwd / m["folder"] / "versions"
        before = sorted(p.name for p in versions.glob("*.py"))
        empty = ok(run(["alembic", "revision", "--autogenerate", "-m", "none"], cwd, venv_bin))
        assert "no revision written" in empty
        assert sorted(p.name for p in versions.glob("*.py")) == before
        drop = versions / "0002_drop_body.py"
        drop.write_text(
            '"""drop body"""\nfrom alembic import op\n\nrevision = "0002"\n'
            'down_revision = "0001"\n\n\ndef upgrade():\n    op.drop_column("notes", "body")\n'
            "\n\ndef downgrade():\n    pass\n"
        )
        refused = run(["alembic", "upgrade", "head"], cwd, venv_bin)
        said = refused.stdout + refused.stderr  # Alembic 1.13 prints FAILED on stdout
        assert refused.returncode != 0 and "refusing to upgrade" in said, said
        assert "0002_drop_body.py:9: op.drop_column('notes', 'body')" in said, said
        drop.unlink()
        seen.append("existing async env.py adapted: guards load by path from alembic/")
    elif m["mode"] == "none":
        return ["no migrations: the project creates its tables itself"]
    else:
        seen.append("existing Alembic left as it is")
    ok(run(["alembic", "upgrade", "head"], cwd, venv_bin))
    current = ok(run(["alembic", "current"], cwd, venv_bin))
    assert "(head)" in current, current
    ok(run(["alembic", "check"], cwd, venv_bin))
    return seen


# --- the flow -----------------------------------------------------------------------------


def install_requirements(line: str) -> list[str]:
    """The requirements of the scaffold's install line, whatever the tool."""
    words = shlex.split(line.split("&&")[-1])
    return [w for w in words if re.match(r"^[A-Za-z][\w.\-\[\]]*(>=|==)", w)]


def fill_env(path: Path, values: dict[str, str], prefix: str = "DB_") -> None:
    """What the user does after --env or --env-add-missing: real values for the added keys
    (under the layer's prefix: PG_HOST for a second database)."""
    real = {
        f"{prefix}HOST": values["host"],
        f"{prefix}PORT": values["port"],
        f"{prefix}NAME": values["db"],
        f"{prefix}USER": values["user"],
        f"{prefix}PASSWORD": values["password"],
    }
    lines = []
    for line in path.read_text().splitlines():
        key = line.split("=", 1)[0]
        lines.append(f"{key}={real[key]}" if key in real else line)
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize("name", NAMES)
def test_fixture_project(tmp_path: Path, name: str) -> None:
    if not os.environ.get("TEST_POSTGRES_URL"):
        server_url("postgres")
    source = FIXTURES / name
    spec = json.loads((source / "fixture.json").read_text(encoding="utf-8"))
    project = tmp_path / "project"
    values = database_for(name)
    copy_project(source, project, values)
    venv_bin = make_venv(project, spec)
    if spec.get("tool") in ("poetry", "uv"):  # the project's own tool, as its user has it
        tool = ROOT / ".tools" / "py" / "bin" / spec["tool"]
        if not tool.exists():
            pytest.fail(f"no {tool}: scripts/bootstrap.sh installs it")
        (venv_bin / spec["tool"]).symlink_to(tool)
        if spec["tool"] == "poetry":
            ok(run(["poetry", "lock"], project, venv_bin, timeout=600))  # the project's lock
    tests_cwd = project / spec["tests_cwd"]
    if spec.get("migrations", {}).get("mode") in ("existing", "adapt"):
        ok(run(["alembic", "upgrade", "head"], project / spec["migrations"]["cwd"], venv_bin))
    passed_before = pytest_passed(run(["python", "-m", "pytest", "-q"], tests_cwd, venv_bin))

    scaffold = [sys.executable, str(SCAFFOLD), "postgres", "--project", str(project)]
    scaffold += ["--package", spec["package"], *spec["scaffold_args"]]
    untouched = files_of(project)
    checked = run([*scaffold, "--check"], project, venv_bin)
    fix, verdict = "none needed", ""
    if "first_stop" in spec:
        assert checked.returncode == 1, checked.stdout
        for message in spec["first_stop"]:
            assert message in checked.stderr, checked.stderr
        assert files_of(project) == untouched
        block = checked.stderr.split("fix it with:\n", 1)[1].splitlines()
        fix = block[0].strip()
        verdict = next(
            (ln.strip() for ln in block if "resolves it" in ln or "not checked" in ln), ""
        )
        ok(run(fix, project, venv_bin, timeout=600))  # the command the message names
        untouched = files_of(project)  # poetry and uv record it in the manifest and lock
        for rel, wanted in spec.get("after_fix", {}).items():  # what the tool recorded
            text = (project / rel).read_text(encoding="utf-8")
            assert all(w in text for w in wanted), text
        checked = run([*scaffold, "--check"], project, venv_bin)
    if spec["expect"] == "stops":
        for attempt in (checked, run(scaffold, project, venv_bin)):
            assert attempt.returncode == 1, attempt.stdout
            for message in spec["stop"]:
                assert message in attempt.stderr, attempt.stderr
            assert "nothing was written" in attempt.stderr
        assert files_of(project) == untouched
        after = pytest_passed(run(["python", "-m", "pytest", "-q"], tests_cwd, venv_bin))
        block = checked.stderr.split("fix it with:\n", 1)[1].splitlines()
        said = next((ln.strip() for ln in block if "resolves it" in ln), "")
        print(
            f"\n| {name} | `{block[0].strip()}` | {said} | (stopped: nothing written) | - | "
            f"tests {passed_before} -> {after} passed |"
        )
        return
    ok(checked)

    if "refused_package" in spec:  # a path that would hide a module: refused, nothing written
        path, *messages = spec["refused_package"]
        at = scaffold.index("--package") + 1
        refused = run([*scaffold[:at], path, *scaffold[at + 1 :], "--dry-run"], project, venv_bin)
        assert refused.returncode == 1, refused.stdout
        for message in messages:
            assert message in refused.stderr, refused.stderr
        assert files_of(project) == untouched

    planned = ok(run([*scaffold, "--dry-run"], project, venv_bin))
    for message in spec.get("says", []):
        assert message in planned, planned
    assert files_of(project) == untouched
    before = files_of(project)
    out = ok(run(scaffold, project, venv_bin))
    assert out.replace("would write", "wrote").replace("would add", "add") == planned.replace(
        "would write", "wrote"
    ).replace("would add", "add"), (planned, out)
    after = files_of(project)
    changed = {rel for rel in before if after.get(rel) != before[rel]}
    for rel in changed:  # only appended to, never rewritten
        assert rel.endswith(".env") or rel.endswith(".env.example"), rel
        assert after[rel].startswith(before[rel]), rel
    created = set(after) - set(before)
    outside = {r for r in created if not r.startswith(spec["package"] + "/")}
    assert outside <= {".env", ".env.example"}, outside  # no __init__.py in src/ or backend/
    where = "the project root" if spec["import_root"] == "." else spec["import_root"] + "/"
    assert f"import it as: {spec['module']} (from {where})" in out, out

    install = next(ln for ln in out.splitlines() if ln.startswith("install: "))
    requirements = install_requirements(install)
    assert any(
        r.startswith("'sqlalchemy[asyncio]>=") or r.startswith("sqlalchemy[asyncio]>=")
        for r in requirements
    ), install
    pip(venv_bin / "python", requirements)
    if spec["fill_env"]:
        fill_env(project / spec["fill_env"], values, spec.get("prefix", "DB_"))
    shutil.copytree(source / "_wired", project, dirs_exist_ok=True)

    migrate(project, spec, venv_bin)

    root = project / spec["import_root"]
    module = spec["module"]
    ok(run(["python", "-c", f"import {module}"], root, venv_bin))
    check = f"import asyncio; from {module} import check_database; asyncio.run(check_database())"
    ok(run(["python", "-c", check], root, venv_bin))
    elsewhere = f"import sys; sys.path.insert(0, {str(root)!r}); {check}"
    ok(run(["python", "-c", elsewhere], tmp_path, venv_bin))  # .env found from the package
    passed_after = pytest_passed(run(["python", "-m", "pytest", "-q"], tests_cwd, venv_bin))
    assert passed_after > passed_before  # the project's tests, and the wired endpoints' tests

    holders = [
        rel for rel, data in files_of(project).items() if values["password"].encode() in data
    ]
    assert len(holders) == 1, f"the database password is in {holders}"
    print(  # a row of the table the issues' closing notes carry (pytest -s shows it)
        f"\n| {name} | `{fix}` | {verdict} | `{module}` from {spec['import_root']} | "
        f"check_database() ok from two folders | tests {passed_before} -> {passed_after} passed |"
    )
