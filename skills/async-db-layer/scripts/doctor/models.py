"""Models and their defaults: SQLite foreign keys, naive datetimes, getattr on request
fields, bulk inserts."""

from __future__ import annotations

import ast
import re

from .nodes import calls, functions, is_const, keyword, name_of, strings
from .project import Project
from .registry import rule


@rule("sqlite-foreign-keys", "skills/async-sqlmodel/references/database-setup.md")
def sqlite_foreign_keys(project: Project):
    joined = "\n".join(t for _, t, _ in project.python)
    if not re.search(r"ForeignKey|foreign_key\s*=|REFERENCES\s", joined):
        return  # no foreign key anywhere: nothing for SQLite to ignore
    for rel, text, tree in project.python:
        if "foreign_keys" in text.lower():
            continue
        for call in calls(tree, "create_async_engine"):
            if any(s.startswith("sqlite") for s in strings(call)):
                yield (
                    rel,
                    call.lineno,
                    (
                        "a SQLite engine without PRAGMA foreign_keys=ON: SQLite ignores every "
                        "foreign key and ON DELETE rule; turn it on in a connect event listener"
                    ),
                )


def naive_now(value, utc_ok: bool = False) -> bool:
    """datetime.utcnow, datetime.now, or a lambda calling either without a timezone; with
    `utc_ok`, utcnow is not counted (the driver reads a naive datetime as UTC)."""
    naive = ("now",) if utc_ok else ("utcnow", "now")
    if isinstance(value, ast.Lambda):
        value = value.body
        if isinstance(value, ast.Call) and name_of(value.func) in naive:
            return name_of(value.func) == "utcnow" or not (value.args or value.keywords)
        return False
    return isinstance(value, ast.Attribute) and value.attr in naive


@rule("naive-datetime-default", "references/schema-patterns.md")
def naive_datetime(project: Project):
    # asyncpg sends a naive datetime to a timestamptz column as UTC: utcnow() is then right,
    # and only a naive local now() shifts; other drivers let the server's TimeZone decide
    asyncpg_only = "asyncpg" in project.joined and not re.search(
        r"psycopg|aiomysql|asyncmy|aiosqlite|pymysql", project.joined
    )
    for rel, _, tree in project.python:
        for call in calls(tree, "Column", "mapped_column", "Field", "column_property"):
            aware = any(
                isinstance(n, ast.keyword) and n.arg == "timezone" and is_const(n.value, True)
                for n in ast.walk(call)
            ) or any(name_of(n) in ("UTCDateTime", "TIMESTAMPTZ") for n in ast.walk(call))
            for key in ("default", "default_factory", "onupdate"):
                value = keyword(call, key)
                if aware and value is not None and naive_now(value, utc_ok=asyncpg_only):
                    yield (
                        rel,
                        call.lineno,
                        (
                            f"{key}= gives a naive datetime to a timezone-aware column: PostgreSQL "
                            "reads it as local time and comparisons shift by the offset; use "
                            "lambda: datetime.now(timezone.utc)"
                        ),
                    )


@rule("getattr-request-field", "skills/async-sqlmodel/references/servicebase.md")
def getattr_field(project: Project):
    for rel, _, tree in project.python:
        for function in functions(tree):
            checked = {
                n.id
                for c in ast.walk(function)
                if isinstance(c, ast.Compare)
                and any(isinstance(o, (ast.In, ast.NotIn)) for o in c.ops)
                for n in ast.walk(c.left)
                if isinstance(n, ast.Name)
            }
            for call in calls(function, "getattr"):
                if len(call.args) < 2 or isinstance(call.args[1], ast.Constant):
                    continue
                model, field = call.args[0], call.args[1]
                if not (isinstance(model, ast.Name) and model.id[:1].isupper()):
                    continue
                if isinstance(field, ast.Name) and field.id in checked:
                    continue
                yield (
                    rel,
                    call.lineno,
                    (
                        f"getattr({model.id}, <a request value>) lets a client filter or sort by "
                        "any attribute, hashed_password included, and a bad name is a 500; map "
                        "allowed names to columns in an allow-list"
                    ),
                )


@rule("bulk-insert-values", "skills/async-sqlmodel/references/async-operations.md")
def bulk_insert_values(project: Project):
    for rel, _, tree in project.python:
        lists = {
            t.id
            for n in ast.walk(tree)
            if isinstance(n, ast.Assign) and isinstance(n.value, (ast.List, ast.ListComp))
            for t in n.targets
            if isinstance(t, ast.Name)
        }
        for call in calls(tree, "values"):
            receiver = call.func.value if isinstance(call.func, ast.Attribute) else None
            inserts = [n for n in ast.walk(receiver) if isinstance(n, ast.Call)] if receiver else []
            if not any(name_of(n.func) == "insert" for n in inserts):
                continue
            if len(call.args) != 1 or call.keywords:
                continue
            arg = call.args[0]
            if isinstance(arg, (ast.List, ast.ListComp)) or (
                isinstance(arg, ast.Name) and arg.id in lists
            ):
                yield (
                    rel,
                    call.lineno,
                    (
                        "insert().values(<list of rows>) renders one statement with a bind "
                        "parameter per value, which hits the driver's limit on large lists; pass "
                        "the rows as parameters: session.execute(insert(Model), rows)"
                    ),
                )
