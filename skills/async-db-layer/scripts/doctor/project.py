"""The project as the rules read it: its Python files parsed once, its other files as text."""

from __future__ import annotations

import ast
import os
import re
from pathlib import Path

from .nodes import is_const, name_of, strings

SKIP_DIRS = {
    ".git",
    ".venv",
    "venv",
    "env",
    "node_modules",
    "__pycache__",
    "site-packages",
    "build",
    "dist",
    ".tox",
    ".nox",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
}


TEXT_FILES = re.compile(
    r"^(alembic\.ini|pyproject\.toml|requirements.*\.txt|\.env.*|docker-compose.*\.ya?ml|"
    r"compose.*\.ya?ml|Dockerfile.*|Procfile|gunicorn\.conf\.py|postgresql\.conf|.*\.sh)$"
)


ASYNC_DRIVERS = re.compile(
    r"\+(asyncpg|aiosqlite|aiomysql|asyncmy|psycopg_async)\b|create_async_engine"
)


class Project:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.python: list[tuple[str, str, ast.AST]] = []  # (rel, text, tree)
        self.texts: list[tuple[str, str]] = []  # other files a rule reads
        self.unreadable: list[str] = []
        self.notes: list[str] = []
        for path in self.files():
            self.read(path)
        joined = "\n".join(t for _, t, _ in self.python) + "\n".join(t for _, t in self.texts)
        self.joined = joined
        self.is_async = bool(ASYNC_DRIVERS.search(joined))
        self.models = mapped_classes(self.python)
        self.relationships = relationship_names(self.python)

    def lines(self, only=None):
        """(rel, line number, line) of every file read, or of those whose path `only` accepts."""
        sources = [(rel, text) for rel, text, _ in self.python] + self.texts
        for rel, text in sources:
            if only is None or only(rel):
                for number, line in enumerate(text.splitlines(), start=1):
                    yield rel, number, line

    def files(self):
        def unreadable(error: OSError) -> None:
            where = Path(error.filename or self.root)
            rel = where.relative_to(self.root).as_posix() if where != self.root else "."
            self.unreadable.append(f"{rel}: cannot read: {error.strerror}")

        for top, dirs, names in os.walk(self.root, onerror=unreadable):
            dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.endswith(".egg-info"))
            for name in sorted(names):
                if name.endswith(".py") or TEXT_FILES.match(name):
                    yield Path(top) / name

    def read(self, path: Path) -> None:
        rel = path.relative_to(self.root).as_posix()
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            self.unreadable.append(f"{rel}: cannot read: {exc.strerror}")
            return
        if path.suffix != ".py" or path.name == "gunicorn.conf.py":
            self.texts.append((rel, text))
        if path.suffix == ".py":
            try:
                self.python.append((rel, text, unalias(ast.parse(text, filename=rel))))
            except (SyntaxError, ValueError, RecursionError) as exc:
                self.notes.append(f"{rel}: not read as Python ({type(exc).__name__}); skipped")


def unalias(tree):
    """Rules read names as their library spells them: `from x import QueuePool as Pool`
    makes every `Pool` in that module read as `QueuePool`."""
    renamed = {
        alias.asname: alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
        if alias.asname and alias.asname != alias.name
    }
    if renamed:
        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and node.id in renamed:
                node.id = renamed[node.id]
    return tree


def mapped_classes(python) -> set[str]:
    """Classes mapped to tables: a __tablename__, `table=True` (SQLModel) or Mapped[] fields."""
    found = set()
    for _, _, tree in python:
        for node in ast.walk(tree):
            if not isinstance(node, ast.ClassDef):
                continue
            table = any(k.arg == "table" and is_const(k.value, True) for k in node.keywords)
            dump = ast.dump(node)
            if table or "'__tablename__'" in dump or "id='Mapped'" in dump:
                found.add(node.name)
    return found


def relationship_names(python) -> dict[str, bool]:
    """Relationship attribute names -> whether they load eagerly by default."""
    found: dict[str, bool] = {}
    for _, _, tree in python:
        for node in ast.walk(tree):
            value = getattr(node, "value", None)
            target = node.target if isinstance(node, ast.AnnAssign) else None
            if isinstance(node, ast.Assign) and len(node.targets) == 1:
                target = node.targets[0]
            if isinstance(value, ast.Call) and name_of(value.func) in (
                "relationship",
                "Relationship",
            ):
                eager = any(
                    s in ("selectin", "joined", "subquery", "immediate") for s in strings(value)
                )
                if isinstance(target, ast.Name):
                    found[target.id] = found.get(target.id, False) or eager
    return found
