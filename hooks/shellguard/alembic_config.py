"""The revisions an `alembic upgrade` would apply, found the way Alembic finds them: the
config file (-c/--config, $ALEMBIC_CONFIG, ./alembic.ini, or pyproject.toml's
[tool.alembic]), its section (-n), script_location with %(here)s, version_locations; and of
those revisions, the ones git does not have yet that drop data (the migration guard's own
check, read from references/migrations.md, plus the hook's SQL reading of op.execute)."""

from __future__ import annotations

import os
import re
from pathlib import Path

PLUGIN_ROOT = Path(
    os.environ.get("CLAUDE_PLUGIN_ROOT") or Path(__file__).resolve().parent.parent.parent
)
GUARDS = PLUGIN_ROOT / "references" / "migrations.md"
_GUARD: dict = {}


def pending_drops(cwd: Path, config: str | None, section: str) -> list[str]:
    found = []
    for versions in version_folders(cwd, config, section):
        changed = uncommitted(versions)
        for path in sorted(versions.rglob("*.py"))[:500]:
            if path.resolve() in changed:
                found.extend(data_losing(path))
    return found


def version_folders(cwd: Path, config: str | None, section: str) -> list[Path]:
    ini = (cwd / config) if config else cwd / "alembic.ini"
    folders: list[Path] = []
    if ini.is_file():
        folders = from_ini(ini, section, cwd)
    elif not config and (cwd / "pyproject.toml").is_file():
        folders = from_pyproject(cwd / "pyproject.toml", cwd)
    # No configuration: Alembic stops with "No config file" and applies nothing.
    unique: list[Path] = []
    for folder in folders:
        if folder.is_dir() and folder.resolve() not in unique:
            unique.append(folder.resolve())
    return unique


def from_ini(ini: Path, section: str, cwd: Path) -> list[Path]:
    import configparser

    parser = configparser.ConfigParser(
        defaults={"here": str(ini.parent.resolve())},
        interpolation=configparser.BasicInterpolation(),
    )
    try:
        parser.read(ini, encoding="utf-8")
        values = parser[section] if parser.has_section(section) else {}
        location = values.get("script_location", "")
        versions = values.get("version_locations", "")
        separator = values.get("version_path_separator", "")
    except (configparser.Error, UnicodeDecodeError, KeyError):
        return []
    return locations(location, versions, separator, cwd)


def from_pyproject(path: Path, cwd: Path) -> list[Path]:
    text = path.read_text(encoding="utf-8", errors="replace")
    block = re.search(r"^\[tool\.alembic\]\s*$(.*?)(?=^\[|\Z)", text, re.MULTILINE | re.DOTALL)
    if not block:
        return []
    location = re.search(r'^script_location\s*=\s*"([^"]*)"', block.group(1), re.MULTILINE)
    here = str(path.parent.resolve())
    value = (location.group(1) if location else "").replace("%(here)s", here)
    return locations(value, "", "", cwd)


def locations(location: str, versions: str, separator: str, cwd: Path) -> list[Path]:
    if ":" in location and not os.path.isabs(location) and not location[1:3] == ":\\":
        package, _, inner = location.partition(":")  # package:path
        for root in (cwd, cwd / "src"):
            candidate = root.joinpath(*package.split(".")) / inner
            if candidate.is_dir():
                location = str(candidate)
                break
    found: list[Path] = []
    if versions:
        splitter = {
            "space": None,
            "os": os.pathsep,
            "newline": "\n",
            ";": ";",
            ":": ":",
            ",": ",",
        }.get(separator or "space", None)
        for item in versions.split(splitter):
            if item.strip():
                found.append(resolve(item.strip(), cwd))
    elif location:
        found.append(resolve(location, cwd) / "versions")
    return found


def resolve(value: str, cwd: Path) -> Path:
    path = Path(os.path.expanduser(value))
    return path if path.is_absolute() else cwd / path


def uncommitted(folder: Path) -> set[Path]:
    """Files under `folder` that git has not committed (new, changed, untracked). Outside a
    git checkout every file counts."""
    import subprocess  # loaded only when an upgrade is judged

    try:
        done = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=all", "-z", "--", "."],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=5,
        )
    except (OSError, subprocess.SubprocessError):
        return {p.resolve() for p in folder.rglob("*.py")}
    if done.returncode != 0:
        return {p.resolve() for p in folder.rglob("*.py")}
    top = subprocess.run(
        ["git", "rev-parse", "--show-toplevel"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=5,
    ).stdout.strip()
    changed = set()
    for entry in done.stdout.split("\0"):
        if len(entry) > 3:
            changed.add((Path(top) / entry[3:]).resolve())
    return changed


def data_losing(path: Path) -> list[str]:
    guard = migration_guard()
    try:
        found = guard["data_losing_ops"](str(path))
    except (SyntaxError, ValueError, OSError, AttributeError):
        return []
    if found:
        return found
    from . import sql

    for node in guard["calls_in"](str(path), "upgrade"):
        if node.func.attr in guard["SQL_CALLS"]:
            statement = sql.data_loss(guard["sql_text"](node))
            if statement:
                return [f"{path.as_posix()}:{node.lineno}: {statement}"]
    return []


def migration_guard() -> dict:
    """DESTRUCTIVE_SQL and data_losing_ops, from the migration guard the plugin teaches
    (references/migrations.md, block file=migrations/guards.py): one source for both."""
    if _GUARD:
        return _GUARD
    import ast

    text = GUARDS.read_text(encoding="utf-8")
    start = text.index("```python file=migrations/guards.py")
    body = text[text.index("\n", start) + 1 : text.index("\n```", start)]
    wanted = {"DATA_LOSING_OPS", "SQL_CALLS", "KEPT", "DESTRUCTIVE_SQL"}
    wanted_functions = {"sql_text", "calls_in", "data_losing_ops"}
    kept = []
    for node in ast.parse(body).body:
        if isinstance(node, ast.Import) or (
            isinstance(node, ast.ImportFrom) and node.module in ("pathlib", "re", "ast")
        ):
            kept.append(node)
        elif isinstance(node, ast.Assign) and {getattr(t, "id", "") for t in node.targets} & wanted:
            kept.append(node)
        elif isinstance(node, ast.FunctionDef) and node.name in wanted_functions:
            kept.append(node)
    module = ast.Module(body=kept, type_ignores=[])
    exec(compile(module, str(GUARDS), "exec"), _GUARD)  # noqa: S102 - the plugin's own code
    return _GUARD
