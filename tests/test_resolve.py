"""skills/async-db-layer/scripts/resolve.py: the fix and install lines keep the project's
extras, take the caps its installed packages put on ours (or name the companion upgrade
where a cap is below our floor), and are asked of the project's own resolver before they
are printed: pip's --dry-run with its pinned requirement files, uv and poetry in a throwaway
copy of the manifest and lock. Nothing of the project changes.

The manifests are generated for the reading; the resolvers are the real pinned tools
(scripts/bootstrap.sh puts uv and poetry in .tools/py), on PyPI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import IN_CI, PRODUCT, ROOT, load_script
from hypothesis import given, settings
from hypothesis import strategies as st
from test_preflight import make_venv
from test_scaffold import SCAFFOLD, snapshot

resolve = load_script(PRODUCT / "resolve.py", "resolve")
TOOLS = ROOT / ".tools" / "py" / "bin"

# --- reading manifests, over generated ones ----------------------------------------------

EXTRAS = st.lists(
    st.sampled_from(["email", "asyncio", "timezone", "mypy"]), unique=True, max_size=2
)
SPECS = st.sampled_from(["^2.7.4", ">=2.5", "==2.7.4", "~2.7", ""])


@settings(max_examples=100, deadline=None)
@given(
    EXTRAS,
    SPECS,
    st.sampled_from(["pep621", "poetry string", "poetry table", "poetry section", "requirements"]),
)
def test_extras_of_any_manifest_form_are_kept(extras, spec, form) -> None:
    import tempfile

    extra = f"[{','.join(extras)}]" if extras else ""
    listed = ", ".join(f'"{e}"' for e in extras)
    pep, poetry = spec.replace("^", ">="), "[tool.poetry.dependencies]\n"
    manifest = {
        "pep621": (
            "pyproject.toml",
            f'[project]\nname = "x"\ndependencies = [\n  "pydantic{extra}{pep}",\n]\n',
        ),
        "poetry string": (
            "pyproject.toml",
            f'[tool.poetry.dependencies]\npython = "^3.11"\npydantic{extra} = "{spec or "*"}"\n',
        ),
        "poetry table": (
            "pyproject.toml",
            f'{poetry}pydantic = {{extras = [{listed}], version = "{spec or "*"}"}}\n',
        ),
        "poetry section": (
            "pyproject.toml",
            f'{poetry}pydantic = {{version = "{spec or "*"}", extras = [{listed}]}}\n',
        ),
        "requirements": ("requirements.txt", f"pydantic{extra}{spec.replace('^', '>=')}\n"),
    }[form]
    if form == "poetry string" and extras:
        return  # poetry has no extras in a plain key
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, manifest[0]).write_text(manifest[1])
        found = resolve.declared(Path(tmp))
    assert found["pydantic"].extras == set(extras), (manifest, found)
    line = resolve.build({"pydantic": ("pydantic", "2.11")}, found, {}, {}, {})
    assert line.requirements == [
        f"pydantic{'[' + ','.join(sorted(extras)) + ']' if extras else ''}>=2.11"
    ]


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(["<", "<=", "~=", "==", ">="]),
    st.integers(0, 3),
    st.integers(0, 99),
    st.sampled_from(["", ",>=2.0.0", ",!=2.0.40"]),
)
def test_a_cap_from_an_installed_package_bounds_the_line_or_names_a_companion(
    op, minor, patch, rest
):
    """sqlmodel requires SQLAlchemy{op}2.minor.patch: a cap above our floor bounds the line,
    one at or below it makes sqlmodel a companion upgrade, a floor alone changes nothing."""
    cap = f"{op}2.{minor}.{patch}{rest}"
    requires = {"sqlmodel": [f"SQLAlchemy{cap}", "pydantic<3"]}
    line = resolve.build(
        {"sqlalchemy": ("sqlalchemy[asyncio]", "2.0.50")}, {}, {"sqlmodel": "0.0.18"}, requires, {}
    )
    # the highest release the cap still allows stops below this version (written here, not
    # taken from resolve.py): ~=2.m.p allows up to 2.m+1 exclusive
    bound = {"<": (2, minor, patch), "<=": (2, minor, patch), "==": (2, minor, patch)}.get(op)
    bound = (2, minor + 1) if op == "~=" else bound
    if bound is None:
        assert line.requirements == ["sqlalchemy[asyncio]>=2.0.50"], (cap, line)
    elif bound > (2, 0, 50):
        shown = ".".join(map(str, bound))
        assert line.requirements == [f"sqlalchemy[asyncio]>=2.0.50,<{shown}"], (cap, line)
        assert f"sqlmodel 0.0.18 requires SQLAlchemy{cap}" in line.reasons[0]
    else:
        assert line.requirements == ["sqlalchemy[asyncio]>=2.0.50", "sqlmodel"], (cap, line)
        assert "sqlmodel upgraded too" in line.reasons[0]


# --- the real resolvers ---------------------------------------------------------------------


def need_tools() -> None:
    missing = [t for t in ("uv", "poetry") if not (TOOLS / t).exists()]
    if missing:
        if IN_CI:
            pytest.fail(
                f"CI=true and no {missing} in .tools/py: scripts/bootstrap.sh installs them"
            )
        pytest.skip(f"no {missing} in .tools/py (scripts/bootstrap.sh)")


def venv_with(folder: Path, packages: dict, pip: bool) -> None:
    """The project's venv: these distributions' metadata, with pip when pip resolves."""
    make_venv(folder, packages, pip=pip)


BASE = {
    "sqlalchemy": ("2.0.50", ["greenlet>=1"]),
    "greenlet": ("3.2.0", []),
    "pydantic-settings": ("2.6.0", []),
    "alembic": ("1.13.3", []),
}


def check(project: Path, backend: str = "postgres") -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{TOOLS}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.run(
        [
            sys.executable,
            str(SCAFFOLD),
            backend,
            "--project",
            str(project),
            "--package",
            "app/db",
            "--check",
        ],
        capture_output=True,
        text=True,
        timeout=900,
        env=env,
    )


def fix_block(done: subprocess.CompletedProcess) -> str:
    assert done.returncode == 1, done.stdout + done.stderr
    return done.stderr.split("fix it with:\n", 1)[1]


def test_poetry_keeps_the_email_extra_and_poetry_accepts_the_line(tmp_path: Path) -> None:
    need_tools()
    project = tmp_path / "p"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        '[tool.poetry]\nname = "shop"\nversion = "0.1.0"\ndescription = ""\n'
        'authors = ["a <a@b.c>"]\n'
        'package-mode = false\n\n[tool.poetry.dependencies]\npython = "^3.11"\n'
        'fastapi = "^0.110.0"\npydantic = {extras = ["email"], version = "^2.7.4"}\n'
        'sqlalchemy = {extras = ["asyncio"], version = "^2.0.50"}\n'
    )
    venv_with(
        project / ".venv",
        BASE | {"pydantic": ("2.7.4", []), "fastapi": ("0.110.3", ["pydantic>=1.7.4"])},
        pip=False,
    )
    before = snapshot(project)
    text = fix_block(check(project))
    first = text.splitlines()[0].strip()
    assert first == "poetry add 'pydantic[email]>=2.11' 'fastapi>=0.121' 'asyncpg>=0.29'", text
    assert "(pydantic: the extras email of pyproject.toml:" in text
    assert "(poetry resolves it (poetry add --lock in a copy" in text, text
    assert snapshot(project) == before


def test_pip_with_pinned_files_gets_the_lines_to_change_and_the_sqlmodel_cap(
    tmp_path: Path,
) -> None:
    need_tools()
    project = tmp_path / "p"
    project.mkdir()
    (project / "requirements.txt").write_text(
        "fastapi==0.111.0\nsqlalchemy==2.0.30\nsqlmodel==0.0.18\npydantic==2.7.4\npydantic-settings==2.6.0\n"
    )
    venv_with(
        project / ".venv",
        BASE
        | {
            "sqlalchemy": ("2.0.30", ["greenlet>=1"]),
            "fastapi": ("0.111.0", []),
            "pydantic": ("2.7.4", []),
            "sqlmodel": ("0.0.18", ["SQLAlchemy<2.1.0,>=2.0.0", "pydantic<3.0.0,>=1.10.13"]),
        },
        pip=True,
    )
    before = snapshot(project)
    text = fix_block(check(project))
    first = text.splitlines()[0].strip()
    assert first.startswith(
        ".venv/bin/python -m pip install 'sqlalchemy[asyncio]>=2.0.50,<2.1.0' "
        "'pydantic>=2.11,<3.0.0' 'fastapi>=0.121'"
    ), text
    assert "(sqlalchemy<2.1.0: sqlmodel 0.0.18 requires SQLAlchemy<2.1.0,>=2.0.0)" in text
    assert (
        "then change requirements.txt:2: sqlalchemy==2.0.30 -> sqlalchemy[asyncio]==2.0." in text
    ), text
    assert "then change requirements.txt:1: fastapi==0.111.0 -> fastapi==" in text
    assert "(pip resolves it (pip install --dry-run with the project's requirement files" in text
    assert snapshot(project) == before


def test_uv_resolves_the_line_in_a_copy_of_its_lock(tmp_path: Path) -> None:
    need_tools()
    project = tmp_path / "p"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        '[project]\nname = "svc"\nversion = "0.1.0"\nrequires-python = ">=3.11"\n'
        'dependencies = ["fastapi==0.115.2", "sqlalchemy[asyncio]>=2.0.50", "pydantic>=2.11",'
        ' "pydantic-settings>=2.6", "alembic>=1.13", "asyncpg>=0.29"]\n\n'
        "[tool.uv]\npackage = false\n"
    )
    env = {**os.environ, "PATH": f"{TOOLS}{os.pathsep}{os.environ['PATH']}"}
    subprocess.run(
        ["uv", "lock", "--python", sys.executable],
        cwd=project,
        check=True,
        capture_output=True,
        env=env,
        timeout=600,
    )
    venv_with(
        project / ".venv",
        BASE | {"pydantic": ("2.12.0", []), "fastapi": ("0.115.2", []), "asyncpg": ("0.30.0", [])},
        pip=False,
    )
    before = snapshot(project)
    text = fix_block(check(project))
    assert text.splitlines()[0].strip() == "uv add 'fastapi>=0.121'", text
    assert "(uv resolves it (uv add --no-sync in a copy of pyproject.toml and uv.lock" in text, text
    assert snapshot(project) == before


def test_a_cap_below_the_floor_brings_its_companion_and_pip_accepts_both(tmp_path: Path) -> None:
    """sqlmodel 0.0.8 requires pydantic<2: the line upgrades sqlmodel too, and says why."""
    need_tools()
    project = tmp_path / "p"
    project.mkdir()
    venv_with(
        project / ".venv",
        BASE
        | {
            "pydantic": ("1.10.13", []),
            "fastapi": ("0.121.0", []),
            "asyncpg": ("0.30.0", []),
            "sqlmodel": ("0.0.8", ["pydantic<2.0.0,>=1.8.2", "SQLAlchemy<=1.4.41,>=1.4.17"]),
        },
        pip=True,
    )
    text = fix_block(check(project))
    line = ".venv/bin/python -m pip install 'pydantic>=2.11' sqlmodel"
    assert text.splitlines()[0].strip() == line, text
    assert (
        "(sqlmodel upgraded too: sqlmodel 0.0.8 requires pydantic<2.0.0,>=1.8.2, "
        "below the floor 2.11)" in text
    )
    assert "(pip resolves it" in text, text
