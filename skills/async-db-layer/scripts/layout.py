"""How a project is laid out and run, read before the layer is placed in it: the folder its
code is imported from (found from how it runs), names the new package would shadow, whether
it uses SQLModel, and the database code it has already.

Used by scaffold_db.py. Standard library only; any Python 3.8+. It reads files and runs
nothing of the project's.
"""

from __future__ import annotations

import ast
import os
import re
from dataclasses import dataclass
from pathlib import Path

SKIP = {".git", ".venv", "venv", "env", "node_modules", "__pycache__", "site-packages", "build"}
SKIP |= {"dist", ".tox", ".nox", ".mypy_cache", ".ruff_cache", ".pytest_cache", "migrations"}
# where projects write how they start: files read as text, searched for the commands below
RUN_FILES = re.compile(
    r"^(Dockerfile.*|.*\.dockerfile|Procfile|Makefile|justfile|docker-compose.*\.ya?ml|"
    r"compose.*\.ya?ml|.*\.sh|pyproject\.toml|README.*|.*\.service|fly\.toml|render\.yaml|"
    r"app\.yaml|.*\.ini|.*\.cfg)$",
    re.IGNORECASE,
)
# `uvicorn src.main:app`, `gunicorn -k ... app.main:app`, `hypercorn x:app`, `--app-dir dir`
APP_SPEC = re.compile(  # also the exec form: CMD ["uvicorn", "src.main:app"]
    r"\b(?:uvicorn|gunicorn|hypercorn|granian)\b[^\n;&|]*?[\s\"',]([A-Za-z_][\w.]*):(\w+)"
)
APP_DIR = re.compile(r"--app-dir[= ]+([^\s\"']+)")
FASTAPI_CLI = re.compile(r"\bfastapi\s+(?:run|dev)\s+([^\s\"'\]]+)")
MODULE_RUN = re.compile(r"\bpython[\d.]*\s+-m\s+([A-Za-z_][\w.]*)")


@dataclass
class Root:
    folder: Path  # the folder the project imports its code from
    why: str  # how that was found, for the user


def walk(project: Path, match) -> list[Path]:
    found = []
    for top, dirs, names in os.walk(project):
        dirs[:] = sorted(d for d in dirs if d not in SKIP and not d.endswith(".egg-info"))
        found += [Path(top) / n for n in sorted(names) if match(n)]
    return found


def read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def module_file(root: Path, dotted: str) -> Path | None:
    """The file `dotted` is imported from below `root`, if it is there."""
    base = root.joinpath(*dotted.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    if base.is_dir():  # a namespace package
        return base
    return None


def fastapi_cli_root(path: Path) -> Path:
    """Where `fastapi run PATH` imports from: the parent of the topmost package holding the
    path (the folders with __init__.py above it), as the FastAPI CLI resolves it."""
    folder = path if path.is_dir() else path.parent
    while (folder / "__init__.py").is_file() and folder.parent != folder:
        folder = folder.parent
    return folder


def start_roots(project: Path) -> list[Root]:
    """The import roots the project's own start commands imply, with the file that says so."""
    roots = []
    for path in walk(project, RUN_FILES.match):
        text = read(path)
        where = path.relative_to(project).as_posix()
        for match in APP_SPEC.finditer(text):
            line = text[: match.start()].count("\n") + 1
            app_dir = APP_DIR.search(text[match.start() : text.find("\n", match.end())])
            for base in [project / app_dir.group(1)] if app_dir else [path.parent, project]:
                if module_file(base, match.group(1)):
                    roots.append(
                        Root(base, f"`{match.group(1)}:{match.group(2)}` in {where}:{line}")
                    )
                    break
        for match in FASTAPI_CLI.finditer(text):
            line = text[: match.start()].count("\n") + 1
            for base in (path.parent, project):
                target = base / match.group(1)
                if target.exists():
                    shown = (
                        f"`fastapi {match.group(0).split()[1]} {match.group(1)}` in {where}:{line}"
                    )
                    roots.append(Root(fastapi_cli_root(target.resolve()), shown))
                    break
        for match in MODULE_RUN.finditer(text):
            line = text[: match.start()].count("\n") + 1
            for base in (path.parent, project):
                if module_file(base, match.group(1)) and match.group(1) not in ("pytest", "pip"):
                    roots.append(Root(base, f"`python -m {match.group(1)}` in {where}:{line}"))
                    break
    return roots


def test_roots(project: Path) -> list[Root]:
    """Import roots the project's tests imply: `from src.app import x` in tests/ means the
    folder holding `src/` is on the import path."""
    roots = []
    tests = walk(
        project, lambda n: n.startswith("test_") and n.endswith(".py") or n == "conftest.py"
    )
    for path in tests:
        try:
            tree = ast.parse(read(path))
        except (SyntaxError, ValueError):
            continue
        for node in ast.walk(tree):
            names = (
                [node.module]
                if isinstance(node, ast.ImportFrom) and node.module and not node.level
                else []
            )
            names += [a.name for a in node.names] if isinstance(node, ast.Import) else []
            for dotted in names:
                for base in [path.parent, *path.parents]:
                    if project not in (base, *base.parents):
                        break
                    if (
                        "." in dotted
                        and module_file(base, dotted.split(".")[0])
                        and (base / dotted.split(".")[0]).is_dir()
                    ):
                        where = path.relative_to(project).as_posix()
                        roots.append(Root(base, f"`{dotted}` imported in {where}"))
                        break
    return roots


def import_root(project: Path, package: str, fallback: Path) -> Root:
    """The folder the new package is imported from: the one the project's start commands,
    else its tests, import its code from, when the package lies below it; else `fallback`."""
    target = (project / package).resolve()
    for root in [*start_roots(project), *test_roots(project)]:
        folder = root.folder.resolve()
        if folder in target.parents:
            return Root(folder, root.why)
    return Root(fallback, "")


# --- names the new package would hide -----------------------------------------------------


def shadowed(project: Path, package: str, root: Path) -> str | None:
    """What the package would hide on the import path: a module or package of that name
    beside it (other than the package's own folder, empty or absent)."""
    folder = project / package
    module = folder.with_suffix(".py")
    if module.is_file():
        return module.relative_to(project).as_posix()
    if folder.parent.resolve() == root.resolve():
        for entry in root.iterdir() if root.is_dir() else ():
            if entry.suffix in (".so", ".pyd") and entry.name.split(".")[0] == folder.name:
                return entry.relative_to(project).as_posix()
    return None


def free_name(project: Path, package: str) -> str:
    """A package path beside the asked one that hides nothing and holds nothing."""
    parent = Path(package).parent
    for name in ("db", "database", "db_layer", "async_db", "dblayer"):
        candidate = (parent / name).as_posix()
        folder = project / candidate
        if not folder.with_suffix(".py").exists() and not folder.exists():
            return candidate
    return (parent / "db_layer_new").as_posix()


# --- what the project uses ----------------------------------------------------------------


def python_files(project: Path, package: str) -> list[Path]:
    own = (project / package).resolve()
    return [p for p in walk(project, lambda n: n.endswith(".py")) if own not in p.resolve().parents]


def uses_sqlmodel(project: Path, package: str) -> str | None:
    """Where the project imports SQLModel (file:line), or None."""
    for path in python_files(project, package):
        for number, line in enumerate(read(path).splitlines(), start=1):
            if re.match(r"\s*(from\s+sqlmodel[\s.]|import\s+sqlmodel\b)", line):
                return f"{path.relative_to(project).as_posix()}:{number}"
    return None


# --- the database code the project has already --------------------------------------------

SCHEME = re.compile(r"\b(postgres(?:ql)?|mysql|mariadb|sqlite)(\+\w+)?://")
BACKEND_OF = {
    "postgres": "postgres",
    "postgresql": "postgres",
    "mysql": "mysql",
    "mariadb": "mysql",
    "sqlite": "sqlite",
}
POOL_SETTING = re.compile(r"^\s*(?:export\s+)?(\w*(?:POOL_SIZE|MAX_OVERFLOW))\s*=\s*(\d+)\s*$")


@dataclass
class Engine:
    where: str  # file:line of the create_engine / create_async_engine call
    backend: str | None  # postgres, mysql, sqlite, or None when it cannot be told
    how: str  # what says so: a URL in the call, or the setting it reads and where that is set


def env_values(project: Path) -> dict[str, tuple[str, str]]:
    """KEY -> (value, file:line) from the project's .env files (the nearest last)."""
    values = {}
    for path in walk(project, lambda n: n == ".env" or n.startswith(".env.")):
        for number, line in enumerate(read(path).splitlines(), start=1):
            match = re.match(r"^\s*(?:export\s+)?([A-Za-z_]\w*)\s*=\s*(.*)$", line)
            if match:
                where = f"{path.relative_to(project).as_posix()}:{number}"
                values.setdefault(match.group(1), (match.group(2).strip().strip("\"'"), where))
    return values


def setting_defaults(files: list[Path], project: Path) -> dict[str, tuple[str, str]]:
    """NAME -> (string default, file:line) for `NAME: str = "..."` / `NAME = "..."` in code."""
    found = {}
    for path in files:
        try:
            tree = ast.parse(read(path))
        except (SyntaxError, ValueError):
            continue
        for node in ast.walk(tree):
            target = node.target if isinstance(node, ast.AnnAssign) else None
            if isinstance(node, ast.Assign) and len(node.targets) == 1:
                target = node.targets[0]
            value = getattr(node, "value", None)
            if (
                isinstance(target, ast.Name)
                and isinstance(value, ast.Constant)
                and isinstance(value.value, str)
            ):
                where = f"{path.relative_to(project).as_posix()}:{node.lineno}"
                found.setdefault(target.id, (value.value, where))
    return found


def existing_engines(project: Path, package: str) -> list[Engine]:
    """Each engine the project makes outside the new package, and the backend it reaches
    where a URL in the call, or the setting it reads (in .env or as a default), tells."""
    files = python_files(project, package)
    envs, defaults = env_values(project), setting_defaults(files, project)
    engines = []
    for path in files:
        if "/tests/" in f"/{path.relative_to(project).as_posix()}" or path.name == "env.py":
            continue  # tests' and Alembic's engines follow the app's
        try:
            tree = ast.parse(read(path))
        except (SyntaxError, ValueError):
            continue
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func = (
                node.func.attr
                if isinstance(node.func, ast.Attribute)
                else getattr(node.func, "id", "")
            )
            if func not in ("create_async_engine", "create_engine", "async_engine_from_config"):
                continue
            where = f"{path.relative_to(project).as_posix()}:{node.lineno}"
            engines.append(Engine(where, *engine_backend(node, envs, defaults)))
    return engines


def engine_backend(call: ast.Call, envs: dict, defaults: dict) -> tuple[str | None, str]:
    for node in ast.walk(call):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            match = SCHEME.search(node.value)
            if match:
                return BACKEND_OF[match.group(1)], f"the URL {match.group(0)}... in the call"
    names = [
        n.attr if isinstance(n, ast.Attribute) else n.id
        for n in ast.walk(call.args[0] if call.args else call)
        if isinstance(n, (ast.Attribute, ast.Name))
    ]
    for name in names:
        for source, label in ((envs, "set in"), (defaults, "defaults to it in")):
            if name in source:
                match = SCHEME.search(source[name][0])
                if match:
                    return BACKEND_OF[match.group(1)], f"{name} ({label} {source[name][1]})"
    return None, f"reads {names[0]}" if names else "a URL it builds"


def pool_settings(project: Path) -> list[tuple[str, int, str]]:
    """(NAME, value, file:line) of the project's own pool settings in its .env files."""
    out = []
    for path in walk(project, lambda n: n == ".env" or n.startswith(".env.")):
        for number, line in enumerate(read(path).splitlines(), start=1):
            match = POOL_SETTING.match(line)
            if match and not match.group(1).startswith("DB_"):
                out.append(
                    (
                        match.group(1),
                        int(match.group(2)),
                        f"{path.relative_to(project).as_posix()}:{number}",
                    )
                )
    return out


def free_prefix(project: Path, backend: str) -> str:
    """A settings prefix for a second database that no .env key of the project starts with."""
    taken = set(env_values(project))
    candidates = {"postgres": ["PG_"], "supabase": ["SUPABASE_DB_"], "mysql": ["MYSQLDB_"]}
    for prefix in [*candidates.get(backend, []), f"{backend.upper()}_", "DB2_", "LAYER_DB_"]:
        if not any(key.startswith(prefix) for key in taken):
            return prefix
    return "LAYER_DB2_"
