"""Which paths hold a database's data or its migrations: Alembic revisions (a `versions`
folder beside an env.py, or inside alembic/ or migrations/), SQLite files (by name or by
their header), PostgreSQL and MySQL data folders (PG_VERSION, ibdata1), and folders that
hold any of these (looked into a few levels deep, a bounded number of entries)."""

from __future__ import annotations

import fnmatch
import os
from pathlib import Path

DB_SUFFIXES = (".db", ".sqlite", ".sqlite3", ".db3", ".duckdb")
DATA_MARKERS = ("PG_VERSION", "ibdata1", "aria_log_control")
SKIP = {".git", "node_modules", ".venv", "venv", "__pycache__", ".mypy_cache", ".ruff_cache"}
MAX_ENTRIES = 3000
SQLITE_HEADER = b"SQLite format 3\0"


def losing(target: str, cwd: Path, names: list[str] | None = None) -> str | None:
    """What removing `target` (a path, maybe a glob; with `find -name` patterns) loses."""
    if not target:
        return None
    path = Path(os.path.expanduser(target))
    path = path if path.is_absolute() else cwd / path
    import glob  # loaded when a command names a pattern

    candidates = [Path(p) for p in glob.glob(str(path))] if any(c in target for c in "*?[") else []
    for candidate in candidates or [path]:
        found = judge_path(candidate, names)
        if found:
            return found
    if candidates == [] and any(c in target for c in "*?["):
        return by_name(path, names)
    return None


def judge_path(path: Path, names: list[str] | None) -> str | None:
    found = by_name(path, names)
    if found:
        return found
    try:
        if path.is_file() and not names:
            with open(path, "rb") as handle:
                if handle.read(16) == SQLITE_HEADER:
                    return f"removes the SQLite database {path.name}"
        if path.is_dir():
            return inside(path, names)
    except OSError:
        return None
    return None


def by_name(path: Path, names: list[str] | None) -> str | None:
    if revision_folder(path):
        return (
            "removes migration revisions: the database keeps their changes but Alembic "
            "loses the way to them and back"
        )
    if names:
        for pattern in names:
            base = pattern.rsplit("/", 1)[-1]
            if any(fnmatch.fnmatch("x" + suffix, base) for suffix in DB_SUFFIXES):
                return f"removes SQLite databases ({pattern})"
        return None
    name = path.name.lower()
    if name.endswith(DB_SUFFIXES):
        return f"removes the SQLite database {path.name}"
    if "pgdata" in name or (
        ("postgres" in name or "mysql" in name or "mariadb" in name) and "data" in name
    ):
        return f"removes {path.name}, a database server's data folder"
    return None


def revision_folder(path: Path) -> bool:
    parts = path.parts
    if "versions" in parts:
        folder = Path(*parts[: parts.index("versions")])
        return (folder / "env.py").is_file() or folder.name in ("alembic", "migrations")
    return (path / "versions").is_dir() and (path / "env.py").is_file()


def inside(folder: Path, names: list[str] | None) -> str | None:
    seen = 0
    for root, dirs, filenames in os.walk(folder):
        dirs[:] = [d for d in dirs if d not in SKIP]
        depth = len(Path(root).relative_to(folder).parts)
        if depth >= 4:
            dirs[:] = []
        seen += len(dirs) + len(filenames)
        if seen > MAX_ENTRIES:
            return None
        here = Path(root)
        if any(marker in filenames for marker in DATA_MARKERS):
            return f"removes {here}, a database server's data folder"
        if "versions" in dirs and "env.py" in filenames:
            return (
                "removes migration revisions: the database keeps their changes but "
                "Alembic loses the way to them and back"
            )
        for filename in filenames:
            if names and not any(fnmatch.fnmatch(filename, n.rsplit("/", 1)[-1]) for n in names):
                continue
            if filename.lower().endswith(DB_SUFFIXES):
                return f"removes the SQLite database {here / filename}"
            if names and "versions" in here.parts and filename.endswith(".py"):
                if revision_folder(here / filename):
                    return (
                        "removes migration revisions: the database keeps their changes "
                        "but Alembic loses the way to them and back"
                    )
    return None


def git_clean(args: list[str], cwd: Path, shown: str) -> str | None:
    """git clean removes what `git clean -n` with the same options lists: ask when that is a
    revision, a database file or a data folder."""
    options = [a for a in args if a not in ("-f", "--force", "-i", "--interactive")]
    options = [
        a.replace("f", "") if a.startswith("-") and not a.startswith("--") else a for a in options
    ]
    options = [a for a in options if a != "-"]
    if any(
        a in ("-n", "--dry-run") or (a.startswith("-") and not a.startswith("--") and "n" in a)
        for a in args
    ):
        return None
    import subprocess  # loaded only when a command runs git clean

    try:
        done = subprocess.run(
            ["git", "clean", "-n", *options], cwd=cwd, capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.SubprocessError):
        return None
    for line in done.stdout.splitlines():
        name = line.replace("Would remove ", "", 1).strip()
        if name:
            found = judge_path(cwd / name, None)
            if found:
                return f"`{shown}` {found}"
    return None
