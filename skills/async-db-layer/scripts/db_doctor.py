#!/usr/bin/env python3
"""db_doctor: find the async database pitfalls in a FastAPI project's code and configuration,
reading it (AST and text) without importing or running anything.

    python3 db_doctor.py [PROJECT] [--rules]

One line per finding: `path:line: [rule-id] what is wrong; what to do (see REFERENCE)`, the
reference being the plugin's tested document that shows the fix. Exit status 1 when there
are findings, 0 when there are none, 2 on bad input (no such folder, no Python project, an
unreadable file). Standard library only; any Python 3.8+ runs it.
"""

from __future__ import annotations

import ast
import os
import re
import sys
from pathlib import Path

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
RULES: dict = {}  # id -> (check, reference)


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


def rule(rule_id: str, reference: str):
    def register(check):
        RULES[rule_id] = (check, reference)
        return check

    return register


# --- helpers ----------------------------------------------------------------------------


def name_of(node) -> str:
    """`a.b.c` -> "c", `f` -> "f", anything else -> ""."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def calls(tree, *names: str):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and name_of(node.func) in names:
            yield node


def keyword(call: ast.Call, name: str):
    for item in call.keywords:
        if item.arg == name:
            return item.value
    return None


def has_unpacking(call: ast.Call) -> bool:
    return any(item.arg is None for item in call.keywords)


def is_const(node, value) -> bool:
    return isinstance(node, ast.Constant) and node.value is value


def strings(node) -> list[str]:
    return [
        n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)
    ]


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


def functions(tree):
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node


# --- rules ------------------------------------------------------------------------------


@rule("commit-after-response", "skills/async-db-layer/references/db-package.md")
def commit_after_response(project: Project):
    committing = set()
    for _, _, tree in project.python:
        for function in functions(tree):
            yields = [
                n.lineno for n in ast.walk(function) if isinstance(n, (ast.Yield, ast.YieldFrom))
            ]
            commits = [c.lineno for c in calls(function, "commit")]
            if yields and any(line > min(yields) for line in commits):
                committing.add(function.name)
    for rel, _, tree in project.python:
        reads_only = {id(c) for f in functions(tree) if only_reads(f) for c in calls(f, "Depends")}
        for call in calls(tree, "Depends", "Security"):
            target = name_of(call.args[0]) if call.args else ""
            if id(call) in reads_only:
                continue  # a GET route that writes nothing: a late commit loses nothing
            if target in committing and keyword(call, "scope") is None:
                yield (
                    rel,
                    call.lineno,
                    (
                        f'{target} commits after `yield`, and without scope="function" FastAPI '
                        "runs that after the response is sent: a failed commit still answers 2xx "
                        f'and the row is lost; write Depends({target}, scope="function") '
                        "(FastAPI 0.121 or newer)"
                    ),
                )


READ_METHODS = {"get", "head", "options"}
WRITE_CALLS = re.compile(
    r"^(add|add_all|delete|merge|flush|commit|save|create|update|upsert|remove|insert|bulk_\w+|"
    r"execute_write|(create|update|delete|save|insert|remove)_\w+|\w+_(create|update|delete))$"
)
READ_CALLS = re.compile(
    r"^(get|find|list|read|search|count|exists|fetch|scalar|scalars|refresh|"
    r"(get|find|list|read|search|count|fetch)_\w+|\w+_(by_\w+|exists|count))$"
)


def only_reads(function) -> bool:
    """A route that cannot write through its session: it calls nothing named like a write
    (`add`, `update`, `create_user`, ...), and it is declared for GET (or HEAD, OPTIONS) or
    its session only goes to calls that read (`find`, `get_by_email`, `execute(select())`)."""
    methods = {
        d.func.attr
        for d in function.decorator_list
        if isinstance(d, ast.Call) and isinstance(d.func, ast.Attribute)
    }
    if not methods:
        return False
    every = [c for c in ast.walk(function) if isinstance(c, ast.Call)]
    if any(WRITE_CALLS.match(name_of(c.func)) for c in every):
        return False
    if methods <= READ_METHODS:
        return True
    sessions = {
        a.arg
        for a, default in parameter_defaults(function)
        if "Depends" in ast.dump(default) or "Depends" in ast.dump(a.annotation or ast.Pass())
    }
    uses = [
        c
        for c in every
        if {n.id for n in [*c.args, getattr(c.func, "value", None)] if isinstance(n, ast.Name)}
        & sessions
    ]
    return bool(uses) and all(reads(c) for c in uses)


def parameter_defaults(function):
    """(argument, default or a placeholder) for each parameter of a function."""
    arguments = function.args
    positional = arguments.posonlyargs + arguments.args
    offset = len(positional) - len(arguments.defaults)
    pairs = [
        (a, arguments.defaults[i - offset] if i >= offset else None)
        for i, a in enumerate(positional)
    ]
    pairs += [(a, arguments.kw_defaults[i]) for i, a in enumerate(arguments.kwonlyargs)]
    return [(a, d if d is not None else ast.Pass()) for a, d in pairs]


def reads(call: ast.Call) -> bool:
    name = name_of(call.func)
    if name == "execute":
        first = call.args[0] if call.args else None
        return isinstance(first, ast.Call) and "select" in ast.dump(first).lower()
    return bool(READ_CALLS.match(name))


def reads_after_commit(project: Project):
    """(rel, line, name) where async code reads an ORM object after `await X.commit()` (or
    after the `async with X.begin()` block that commits it) with no refresh in between. The
    objects: those added to the session, built by a class call, or loaded by an awaited call."""
    for rel, _, tree in project.python:
        for function in (f for f in functions(tree) if isinstance(f, ast.AsyncFunctionDef)):
            objects = orm_objects(function, project.models)
            for body in bodies(function):
                for index, statement in enumerate(body):
                    committed = is_awaited_call(statement, "commit") or (
                        isinstance(statement, ast.AsyncWith)
                        and any(
                            name_of(getattr(i.context_expr, "func", None)) == "begin"
                            for i in statement.items
                        )
                    )
                    if not committed:
                        continue
                    refreshed = set()
                    for later in body[index + 1 :]:
                        for node in ast.walk(later):
                            if is_awaited_call(node, "refresh") and not isinstance(node, ast.Expr):
                                refreshed.update(
                                    name_of(a)
                                    for a in node.value.args[:1]
                                    + [k.value for k in node.value.keywords]
                                )
                            used = (
                                node.value.id
                                if isinstance(node, ast.Attribute)
                                and isinstance(node.value, ast.Name)
                                else node.value.id
                                if isinstance(node, ast.Return) and isinstance(node.value, ast.Name)
                                else None
                            )
                            if used in objects and used not in refreshed:
                                yield rel, node.lineno, used
                                break


def is_awaited_call(node, method: str) -> bool:
    if isinstance(node, ast.Expr):
        node = node.value
    return (
        isinstance(node, ast.Await)
        and isinstance(node.value, ast.Call)
        and isinstance(node.value.func, ast.Attribute)
        and node.value.func.attr == method
    )


def orm_objects(function, models: set[str]) -> set[str]:
    names = set()
    for node in ast.walk(function):
        if isinstance(node, ast.Call) and name_of(node.func) in ("add", "add_all") and node.args:
            first = node.args[0]
            elements = first.elts if isinstance(first, (ast.List, ast.Tuple)) else [first]
            names.update(e.id for e in elements if isinstance(e, ast.Name))
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
            built = isinstance(value, ast.Call) and name_of(value.func) in models
            if isinstance(target, ast.Name) and (built or isinstance(value, ast.Await)):
                names.add(target.id)
    return names - {"session", "db", "db_session", "conn", "connection", "engine"}


@rule("expire-on-commit", "skills/async-sqlalchemy/references/fastapi-app.md")
def expire_on_commit(project: Project):
    evidence = next(iter(reads_after_commit(project)), None)
    if evidence is None:
        return  # nothing reads an object after a commit: expiring costs nothing here
    where, line, name = evidence
    for rel, _, tree in project.python:
        for call in calls(tree, "async_sessionmaker", "AsyncSession", "sessionmaker"):
            if not (call.args or call.keywords):
                continue  # calling a factory held in a variable of that name, not making one
            if (
                name_of(call.func) == "sessionmaker"
                and name_of(keyword(call, "class_")) != "AsyncSession"
            ):
                continue
            if has_unpacking(call) or is_const(keyword(call, "expire_on_commit"), False):
                continue
            yield (
                rel,
                call.lineno,
                (
                    f"{name_of(call.func)} without expire_on_commit=False: after commit every "
                    "attribute expires and the next read lazy-loads, which fails under asyncio "
                    f"(MissingGreenlet), as `{name}` at {where}:{line} is read after its commit; "
                    "pass expire_on_commit=False"
                ),
            )


SESSION_NAME = re.compile(r"^(session|db|db_session|s)$|session$")


def session_args(call) -> set[str]:
    names = set()
    for arg in [*call.args, *(k.value for k in call.keywords)]:
        if isinstance(arg, ast.Name) and SESSION_NAME.search(arg.id):
            names.add(arg.id)
    return names


@rule("shared-session-concurrency", "skills/async-sqlmodel/references/best-practices.md")
def shared_session(project: Project):
    for rel, _, tree in project.python:
        for gather in calls(tree, "gather"):
            seen: dict[str, int] = {}
            for arg in gather.args:
                if isinstance(arg, ast.Starred) and isinstance(
                    arg.value, (ast.GeneratorExp, ast.ListComp)
                ):
                    element = arg.value.elt
                    for name in session_args(element) if isinstance(element, ast.Call) else ():
                        seen[name] = seen.get(name, 0) + 2
                elif isinstance(arg, ast.Call):
                    for name in session_args(arg):
                        seen[name] = seen.get(name, 0) + 1
            yield from shared(rel, gather.lineno, seen, "asyncio.gather")
        for function in functions(tree):
            seen = {}
            for task in calls(function, "create_task"):
                inner = task.args[0] if task.args and isinstance(task.args[0], ast.Call) else None
                for name in session_args(inner) if inner is not None else ():
                    seen[name] = seen.get(name, 0) + 1
            yield from shared(rel, function.lineno, seen, "tasks")


def shared(rel: str, line: int, seen: dict, where: str):
    for name, count in seen.items():
        if count > 1:
            yield (
                rel,
                line,
                (
                    f"one session `{name}` is used by concurrent {where}: an AsyncSession and its "
                    "connection cannot run two statements at once (InterfaceError / "
                    "IllegalStateChangeError); give each task its own session"
                ),
            )


@rule("sync-pool-async-engine", "skills/async-db-layer/references/db-package.md")
def sync_pool(project: Project):
    for rel, _, tree in project.python:
        for call in calls(tree, "create_async_engine"):
            value = keyword(call, "poolclass")
            chosen = [value.body, value.orelse] if isinstance(value, ast.IfExp) else [value]
            names = [name_of(v) for v in chosen]
            pool = next((n for n in names if n in ("QueuePool", "SingletonThreadPool")), "")
            if pool:
                yield (
                    rel,
                    call.lineno,
                    (
                        f"create_async_engine with poolclass={pool}, a pool for sync engines: it "
                        "fails or blocks the event loop; use AsyncAdaptedQueuePool (the default) "
                        "or NullPool"
                    ),
                )


POOLER = re.compile(r":6543\b|pooler\.supabase\.com|pgbouncer", re.IGNORECASE)


@rule("pooler-prepared-statements", "references/connections.md")
def pooler_prepared_statements(project: Project):
    everything = "\n".join(t for _, t, _ in project.python)
    if "statement_cache_size" in everything:
        return
    for rel, number, line in project.lines():
        line = line.split("#", 1)[0]  # a comment that names PgBouncer is no connection to it
        if POOLER.search(line) and ("asyncpg" in line or "asyncpg" in everything):
            yield (
                rel,
                number,
                (
                    "asyncpg through a transaction pooler (port 6543, PgBouncer) with its "
                    "prepared-statement cache on: statements fail with 'prepared statement "
                    "does not exist' (or already exists); set connect_args="
                    '{"statement_cache_size": 0, "prepared_statement_cache_size": 0}'
                ),
            )
            return


# SQLAlchemy's extras that bring greenlet (each requires sqlalchemy[asyncio])
ASYNC_EXTRAS = {"asyncio", "postgresql-asyncpg", "postgresql_asyncpg", "aiosqlite", "aiomysql"}
ASYNC_EXTRAS |= {"asyncmy", "aioodbc"}


NO_EXTRA = (
    "sqlalchemy without the [asyncio] extra: SQLAlchemy 2.1 installs greenlet only with it, and "
    "async engines then fail at the first query; declare sqlalchemy[asyncio]"
)


def below_2_1(spec: str) -> bool:
    """Whether a version requirement keeps SQLAlchemy below 2.1 (greenlet still comes along):
    pip's <2.1, ==2.0.x, ~=2.0.x (~=2.0 allows 2.1); poetry's ~2.0 and 2.0.x."""
    spec = spec.replace(" ", "")
    return bool(re.search(r"<2\.1|<=?2\.0|==2\.0|~=2\.0\.\d|(^|,)~2\.0|^2\.0(\.\d+|\.\*)?$", spec))


def sqlmodel_caps_sqlalchemy(text: str) -> bool:
    """SQLModel up to 0.0.3x requires SQLAlchemy below 2.1: a requirement that keeps sqlmodel
    there (<0.0.40, ==0.0.3x, poetry's ^0.0.3x or ~0.0.3x) keeps SQLAlchemy on 2.0."""
    for spec in re.findall(
        r"""^\s*["']?sqlmodel(?![\w.-])\s*=?\s*["']?([^"'#\n]*)""", text, re.I | re.M
    ):
        bound = re.search(r"<\s*0\.0\.(\d+)", spec)
        pinned = re.search(r"(?:==|\^|~=?)\s*0\.0\.(\d+)", spec)
        if (bound and int(bound.group(1)) <= 40) or (pinned and int(pinned.group(1)) < 40):
            return True
    return False


def sqlalchemy_stays_on_2_0(project: Project) -> bool:
    """Whether the project's requirements keep SQLAlchemy below 2.1."""
    for rel, text in project.texts:
        if not (rel.endswith("pyproject.toml") or re.search(r"requirements[^/]*\.txt$", rel)):
            continue
        if sqlmodel_caps_sqlalchemy(text):
            return True
        for spec in re.findall(
            r"""^\s*["']?sqlalchemy(?:\[[^\]]*\])?\s*=?\s*["']?([^"'#\n]*)""", text, re.I | re.M
        ):
            if below_2_1(spec):
                return True
    return False


def toml_section(lines: list[str], start: int) -> list[str]:
    """The lines of the TOML table whose header is line `start` (1-based), up to the next."""
    body = []
    for line in lines[start:]:
        if line.lstrip().startswith("["):
            break
        body.append(line)
    return body


@rule("sqlalchemy-asyncio-extra", "skills/async-db-layer/references/db-package.md")
def sqlalchemy_extra(project: Project):
    if not project.is_async:
        return
    for rel, text in project.texts:
        if not (rel.endswith("pyproject.toml") or re.search(r"requirements[^/]*\.txt$", rel)):
            continue
        if re.search(r"^\s*[\"']?greenlet", text, re.MULTILINE | re.IGNORECASE):
            continue
        if sqlmodel_caps_sqlalchemy(text):
            continue  # SQLAlchemy stays on 2.0, where greenlet still comes along
        lines = text.splitlines()
        for number, line in enumerate(lines, start=1):
            table = re.match(r"""^\s*["']?sqlalchemy["']?\s*=\s*\{(.*)""", line, re.I)
            section = re.match(r"^\s*\[[\w.-]*dependencies\.sqlalchemy\]\s*$", line, re.I)
            if table or section:
                # poetry: sqlalchemy = {extras = ["asyncio"], version = "^2.0"}, or a table
                body = table.group(1) if table else "\n".join(toml_section(lines, number))
                listed = re.search(r"extras\s*=\s*\[([^\]]*)\]", body)
                extras = set(re.findall(r"[\w-]+", listed.group(1).lower())) if listed else set()
                version = re.search(r"version\s*=\s*[\"']([^\"']*)", body)
                if not (extras & ASYNC_EXTRAS or below_2_1(version.group(1) if version else "")):
                    yield rel, number, NO_EXTRA
                continue
            match = re.match(
                r"""^\s*["']?sqlalchemy(?![\w.-])\s*(\[[^\]]*\])?\s*(=\s*["'])?([^"',#]*)""",
                line,
                re.I,
            )
            if not match:
                continue
            extras = set(re.split(r"[\s,]+", (match.group(1) or "").strip("[]").lower()))
            if extras & ASYNC_EXTRAS or below_2_1(match.group(3)):
                continue  # below 2.1 greenlet still comes along
            yield rel, number, NO_EXTRA


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


INI_URL = re.compile(r"^\s*sqlalchemy\.url\s*=\s*\S+://([^:/@\s]*):([^@\s]+)@", re.IGNORECASE)
# what local set-ups and templates write: no secret is given away by committing it
PLACEHOLDERS = {"password", "pass", "postgres", "secret", "changeme", "example", "mysql", "root"}
PLACEHOLDERS |= {"test", "admin", "dev", "local", "user"}


@rule("alembic-ini-password", "references/migrations.md")
def alembic_ini_password(project: Project):
    for rel, number, line in project.lines(lambda rel: rel.endswith("alembic.ini")):
        match = INI_URL.match(line)
        if (
            match
            and not match.group(2).startswith(("%(", "${"))
            and match.group(2).lower() not in PLACEHOLDERS | {match.group(1).lower()}
        ):
            yield (
                rel,
                number,
                (
                    "a database password in alembic.ini, a file that is committed; leave "
                    "sqlalchemy.url out and take the URL from the app's settings in env.py"
                ),
            )


# sync drivers an env.py may name on purpose -> the distributions that install them
SYNC_DRIVERS = {
    "pymysql": ("pymysql",),
    "mysqldb": ("mysqlclient",),
    "psycopg2": ("psycopg2", "psycopg2-binary"),
    "psycopg": ("psycopg", "psycopg-binary"),
    "pg8000": ("pg8000",),
    "pysqlite": (),  # the standard library's
}


def declares(project: Project, distribution: str) -> bool:
    """Whether pyproject.toml or a requirements file declares this distribution."""
    pattern = re.compile(rf"""^\s*["']?{re.escape(distribution)}(?![\w.-])""", re.I | re.M)
    return any(
        pattern.search(text)
        for rel, text in project.texts
        if rel.endswith("pyproject.toml") or re.search(r"requirements[^/]*\.txt$", rel)
    )


def sync_driver_on_purpose(project: Project, env_text: str) -> bool:
    """An env.py that runs on a sync driver it names (or alembic.ini's URL names, or a plain
    postgresql:// URL means) and that the project declares: migrations work as written."""
    ini = "\n".join(t for rel, t in project.texts if rel.endswith("alembic.ini"))
    urls = re.findall(r"^\s*sqlalchemy\.url\s*=\s*(\S+)", ini, re.M)
    named = set(re.findall(r"\b(pymysql|mysqldb|psycopg2|psycopg|pg8000|pysqlite)\b", env_text))
    for url in urls:
        named |= set(re.findall(r"\+(pymysql|mysqldb|psycopg2|psycopg|pg8000|pysqlite)\b", url))
        if re.match(r"postgres(ql)?://", url):
            named.add("postgresql")
        if url.startswith("sqlite://"):
            named.add("pysqlite")
    if re.search(
        r"""drivername\s*=\s*["']postgres(ql)?["']|sync_scheme|split\(["']\+["']\)""", env_text
    ):
        named.add("postgresql")  # the driver stripped from the URL: SQLAlchemy's default
    if "postgresql" in named:
        # a plain postgresql:// URL: psycopg2 on SQLAlchemy 2.0, psycopg (3) from 2.1 on
        named.discard("postgresql")
        named.add("psycopg2" if sqlalchemy_stays_on_2_0(project) else "psycopg")
    return any(
        not SYNC_DRIVERS[d] or any(declares(project, dist) for dist in SYNC_DRIVERS[d])
        for d in named
    )


@rule("sync-alembic-env", "references/migrations.md")
def sync_env(project: Project):
    if not project.is_async:
        return
    for rel, text, tree in project.python:
        if not rel.endswith("env.py") or "context.configure" not in text:
            continue
        if re.search(r"async_engine_from_config|create_async_engine|run_sync|AsyncEngine", text):
            continue
        if sync_driver_on_purpose(project, text):
            continue
        if "async_fallback" in text:
            why = "it relies on async_fallback, which SQLAlchemy 2.1 removed (TypeError)"
        elif re.search(r"(pymysql|mysqldb|psycopg2|psycopg|pg8000)\b|sync_scheme|drivername", text):
            why = (
                "the sync driver it needs is not installed (from SQLAlchemy 2.1 a plain "
                "postgresql:// URL means psycopg 3, not psycopg2)"
            )
        else:
            why = "on the async URL a sync engine fails (MissingGreenlet)"
        for call in calls(tree, "engine_from_config", "create_engine"):
            yield (
                rel,
                call.lineno,
                (
                    f"a sync Alembic env.py in a project whose URL uses an async driver: {why}; "
                    "use the async template (async_engine_from_config and connection.run_sync), "
                    "or declare the sync driver it uses"
                ),
            )
            break


@rule("event-loop-fixture", "references/testing.md")
def event_loop_fixture(project: Project):
    for rel, _, tree in project.python:
        for function in functions(tree):
            if function.name == "event_loop" and any(
                "fixture" in (name_of(d.func) if isinstance(d, ast.Call) else name_of(d))
                for d in function.decorator_list
            ):
                yield (
                    rel,
                    function.lineno,
                    (
                        "a redefined event_loop fixture: pytest-asyncio 1.0 removed it; set the "
                        "loop scope with @pytest.mark.asyncio(loop_scope=...) or asyncio_default_"
                        "fixture_loop_scope, or use AnyIO's pytest plugin"
                    ),
                )


@rule("asyncclient-app", "references/testing.md")
def asyncclient_app(project: Project):
    for rel, _, tree in project.python:
        for call in calls(tree, "AsyncClient"):
            if keyword(call, "app") is not None:
                yield (
                    rel,
                    call.lineno,
                    (
                        "AsyncClient(app=...) is gone in httpx 0.28; write "
                        'AsyncClient(transport=ASGITransport(app=app), base_url="http://test")'
                    ),
                )


def loaded_in(body, session: str) -> set[str]:
    """Names assigned in `body` from an awaited call on `session`."""
    names = set()
    for statement in body:
        for node in ast.walk(statement):
            if isinstance(node, ast.Assign) and any(
                isinstance(a, ast.Await)
                and session in {n.id for n in ast.walk(a) if isinstance(n, ast.Name)}
                for a in ast.walk(node.value)
            ):
                names.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return names


def lazy_reads(tree, loaded: set[str], lazy: set[str]):
    """`name.relationship` reads under `tree` of a loaded name and a lazy relationship."""
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in loaded
            and node.attr in lazy
        ):
            yield node


@rule("lazy-load-after-close", "references/query-optimization.md")
def lazy_after_close(project: Project):
    lazy = {name for name, eager in project.relationships.items() if not eager}
    if not lazy:
        return
    for rel, _, tree in project.python:
        for function in (f for f in functions(tree) if isinstance(f, ast.AsyncFunctionDef)):
            for body in bodies(function):
                yield from after_close(rel, body, lazy)


def bodies(function):
    for node in ast.walk(function):
        for field in ("body", "orelse", "finalbody"):
            value = getattr(node, field, None)
            if isinstance(value, list) and value and isinstance(value[0], ast.stmt):
                yield value


def after_close(rel: str, body: list, lazy: set):
    for index, statement in enumerate(body):
        if not isinstance(statement, ast.AsyncWith):
            continue
        sessions = [
            i.optional_vars.id for i in statement.items if isinstance(i.optional_vars, ast.Name)
        ]
        eager_text = ast.dump(statement)
        if not sessions or re.search(r"selectinload|joinedload|subqueryload|refresh", eager_text):
            continue
        loaded = set().union(*(loaded_in(statement.body, s) for s in sessions))
        for later in body[index + 1 :]:
            for node in lazy_reads(later, loaded, lazy):
                yield (
                    rel,
                    node.lineno,
                    (
                        f"{node.value.id}.{node.attr} is a lazy relationship read after its "
                        "session closed: under asyncio that raises MissingGreenlet or "
                        "DetachedInstanceError; load it in the query with selectinload()"
                    ),
                )
                return


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


def numbers(pattern: str, project: Project) -> list[tuple[str, int, int]]:
    found = []
    for rel, number, line in project.lines():
        for match in re.finditer(pattern, line):
            value = next(g for g in match.groups() if g is not None)
            found.append((rel, number, int(value)))
    return found


def setting_value(project: Project, name: str):
    """The int a setting gets: from a .env or compose file (`NAME=16`, `NAME: 16`) first, what
    runs; else its default in code (`NAME: int = 16`, `NAME = 16`)."""
    for _, _, line in project.lines(lambda rel: not rel.endswith(".py")):
        found = re.match(rf"^\s*(?:-\s*)?{re.escape(name)}\s*[=:]\s*[\"']?(\d+)\b", line)
        if found:
            return int(found.group(1))
    for _, _, tree in project.python:
        for node in ast.walk(tree):
            target = node.target if isinstance(node, ast.AnnAssign) else None
            if isinstance(node, ast.Assign) and len(node.targets) == 1:
                target = node.targets[0]
            value = getattr(node, "value", None)
            if name_of(target) == name and isinstance(value, ast.Constant):
                if isinstance(value.value, int) and not isinstance(value.value, bool):
                    return value.value
    return None


def pool_option(project: Project, call: ast.Call, option: str, default: int):
    """A create_async_engine pool option: a constant, or a setting read by its name."""
    value = keyword(call, option)
    if value is None:
        return default  # SQLAlchemy's own default
    if isinstance(value, ast.Constant) and isinstance(value.value, int):
        return value.value
    return setting_value(project, name_of(value)) if name_of(value) else None


def in_tests(rel: str) -> bool:
    return bool(re.search(r"(^|/)(tests?|testing)/|(^|/)(test_[^/]*|conftest)\.py$", rel))


@rule("pool-over-max-connections", "skills/async-sqlmodel/references/production-patterns.md")
def pool_over_max(project: Project):
    limits = numbers(r"max_connections\s*[=:]?\s*(\d+)", project)
    workers = numbers(
        r"(?:--workers|-w)[\"']?(?:[ =]|,\s*[\"'])(\d+)\b"  # also a JSON CMD: "--workers", "4"
        r"|\bworkers\s*=\s*(\d+)|WEB_CONCURRENCY=(\d+)",
        project,
    )
    if not limits or not workers:
        return
    engines = []  # every pool one worker process opens (a writer and a reader are two)
    for rel, _, tree in project.python:
        if in_tests(rel):
            continue
        for call in calls(tree, "create_async_engine"):
            if name_of(keyword(call, "poolclass")) == "NullPool":
                continue  # no pool: a connection per checkout, closed after
            size = pool_option(project, call, "pool_size", 5)
            overflow = pool_option(project, call, "max_overflow", 10)
            if size is not None and overflow is not None:
                engines.append((rel, call.lineno, size, overflow))
    if not engines:
        return
    per_worker = sum(size + overflow for _, _, size, overflow in engines)
    count = max(w for _, _, w in workers)
    limit = min(m for _, _, m in limits)
    if per_worker * count <= limit:
        return
    rel, line, size, overflow = engines[0]
    pools = f"{len(engines)} pools of" if len(engines) > 1 else "pool_size"
    sizes = " + ".join(f"{s}+{o}" for _, _, s, o in engines)
    yield (
        rel,
        line,
        (
            f"{pools} {sizes} (pool_size+max_overflow) per worker, times {count} workers, is "
            f"{per_worker * count} connections, over the server's max_connections {limit}: "
            "requests wait, then fail with 'too many clients'; size the pools to fit, or put a "
            "pooler in front"
        ),
    )


# --- the async session's API misused ----------------------------------------------------

SYNC_METHODS = {"add", "add_all", "expunge", "expunge_all", "is_modified", "in_transaction"}
SYNC_METHODS |= {"in_nested_transaction", "get_bind", "enable_relationship_loading"}
QUERY_METHODS = {"execute", "scalars", "scalar", "stream", "stream_scalars", "exec", "get"}
COROUTINES = QUERY_METHODS | {"commit", "rollback", "close", "flush", "refresh", "delete"}
COROUTINES |= {"merge", "run_sync", "invalidate", "reset", "connection", "get_one"}


def session_like(node) -> bool:
    """`session`, `db`, `self.session`, `request.state.db`: a name a session goes by."""
    name = node.id if isinstance(node, ast.Name) else getattr(node, "attr", "")
    return bool(SESSION_NAME.search(name))


def dotted(node) -> str:
    """`self.session` for an attribute chain of names, `...` for anything else."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{dotted(node.value)}.{node.attr}"
    return "..."


def method_call(node):
    """(receiver, method) of `receiver.method(...)`, else (None, "")."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        return node.func.value, node.func.attr
    return None, ""


@rule("awaited-sync-method", "skills/async-sqlalchemy/references/fastapi-app.md")
def awaited_sync_method(project: Project):
    if not project.is_async:
        return
    for rel, _, tree in project.python:
        for node in ast.walk(tree):
            receiver, method = (
                method_call(node.value) if isinstance(node, ast.Await) else (None, "")
            )
            if method in SYNC_METHODS and session_like(receiver):
                yield (
                    rel,
                    node.lineno,
                    (
                        f"`await {dotted(receiver)}.{method}(...)`: {method}() is a plain "
                        "method of AsyncSession, not a coroutine; awaiting its None raises "
                        f"TypeError after it ran; call it without await"
                    ),
                )


@rule("result-of-coroutine", "skills/async-sqlalchemy/references/fastapi-app.md")
def result_of_coroutine(project: Project):
    for rel, _, tree in project.python:
        for node in ast.walk(tree):
            if not isinstance(node, ast.Await) or not isinstance(node.value, ast.Call):
                continue
            inner = node.value.func
            while isinstance(inner, (ast.Attribute, ast.Call)):
                inner = inner.value if isinstance(inner, ast.Attribute) else inner.func
                receiver, method = method_call(inner)
                if method in QUERY_METHODS and session_like(receiver):
                    session = f"{dotted(receiver)}.{method}"
                    late = (
                        node.value.func.attr if isinstance(node.value.func, ast.Attribute) else ""
                    )
                    yield (
                        rel,
                        node.lineno,
                        (
                            f"`await {session}(...)...{late}()` awaits too late: {session}() "
                            f"returns a coroutine, which has no .{late}() (AttributeError); "
                            f"write (await {session}(...)).{late}()"
                        ),
                    )
                    break


def async_names(function) -> set[str]:
    """Names that hold something async in this function: awaited on elsewhere, bound by
    `async with ... as name`, or annotated AsyncSession/AsyncConnection."""
    names = set()
    for node in ast.walk(function):
        receiver, _ = method_call(node.value) if isinstance(node, ast.Await) else (None, "")
        if isinstance(receiver, (ast.Name, ast.Attribute)):
            names.add(dotted(receiver))  # `session`, `self.session`
        if isinstance(node, ast.AsyncWith):
            names.update(
                i.optional_vars.id for i in node.items if isinstance(i.optional_vars, ast.Name)
            )
    for argument, _ in parameter_defaults(function):
        if re.search(r"Async(Session|Connection)", ast.dump(argument.annotation or ast.Pass())):
            names.add(argument.arg)
    return names


def annotated_async(function) -> set[str]:
    return {
        a.arg
        for a, _ in parameter_defaults(function)
        if re.search(r"Async(Session|Connection)", ast.dump(a.annotation or ast.Pass()))
    }


@rule("unawaited-session-call", "skills/async-sqlalchemy/references/fastapi-app.md")
def unawaited_session_call(project: Project):
    for rel, _, tree in project.python:
        for function in (f for f in functions(tree) if isinstance(f, ast.AsyncFunctionDef)):
            held = async_names(function)
            for node in ast.walk(function):
                receiver, method = (
                    method_call(node.value) if isinstance(node, ast.Expr) else (None, "")
                )
                where = dotted(receiver) if receiver is not None else "..."
                if (
                    method in COROUTINES
                    and where in held
                    and (session_like(receiver) or where in annotated_async(function))
                ):
                    yield (
                        rel,
                        node.lineno,
                        (
                            f"`{where}.{method}(...)` without await: on an async session "
                            "it only makes a coroutine, which never runs (nothing is "
                            f"{'rolled back' if method == 'rollback' else 'done'}; Python "
                            "warns 'coroutine was never awaited'); write "
                            f"await {where}.{method}(...)"
                        ),
                    )


def session_factories(tree) -> set[str]:
    """Module-level names bound to async_sessionmaker(...) or sessionmaker(class_=AsyncSession)."""
    names = set()
    for node in tree.body if isinstance(tree, ast.Module) else ():
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
            made = name_of(node.value.func)
            if made == "async_sessionmaker" or (
                made == "sessionmaker" and name_of(keyword(node.value, "class_")) == "AsyncSession"
            ):
                names.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return names


def makes_session(value, factories: set[str]) -> bool:
    return isinstance(value, ast.Call) and (
        name_of(value.func) == "AsyncSession"
        or (isinstance(value.func, ast.Name) and value.func.id in factories)
    )


@rule("global-async-session", "skills/async-sqlmodel/references/best-practices.md")
def global_async_session(project: Project):
    singletons = set()  # classes the project instantiates once, at module level
    for _, _, tree in project.python:
        for node in tree.body:
            if isinstance(node, (ast.Assign, ast.AnnAssign)) and isinstance(node.value, ast.Call):
                singletons.add(name_of(node.value.func))
    for rel, _, tree in project.python:
        factories = session_factories(tree)
        found = [
            n
            for n in tree.body
            if isinstance(n, (ast.Assign, ast.AnnAssign)) and makes_session(n.value, factories)
        ]
        for cls in (n for n in tree.body if isinstance(n, ast.ClassDef) and n.name in singletons):
            for init in (
                f for f in cls.body if isinstance(f, ast.FunctionDef) and f.name == "__init__"
            ):
                found += [
                    n
                    for n in ast.walk(init)
                    if isinstance(n, (ast.Assign, ast.AnnAssign))
                    and makes_session(n.value, factories)
                ]
        for node in found:
            yield (
                rel,
                node.lineno,
                (
                    "one AsyncSession made once for the whole process: every request shares it, "
                    "so concurrent requests run on one connection and one transaction "
                    "(IllegalStateChangeError, one request's rollback undoing another's work); "
                    "open a session per request in a dependency"
                ),
            )


# --- writes that are silently dropped -----------------------------------------------------

FLAG = re.compile(r"^(commit|commit_after|auto_?commit|do_commit|should_commit)$")


def write_statement(node, assigned: dict) -> bool:
    """An insert()/update()/delete() statement, or a name assigned one in the same function."""
    if isinstance(node, ast.Name):
        return node.id in assigned and write_statement(assigned[node.id], {})
    while isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        if node.func.attr in ("insert", "update", "delete") and not isinstance(
            node.func.value, ast.Call
        ):
            return True  # table.insert()
        node = node.func.value
    return isinstance(node, ast.Call) and name_of(node.func) in ("insert", "update", "delete")


@rule("commit-after-helper", "references/transactions.md")
def commit_after_helper(project: Project):
    helpers = {}  # function name -> (flag name, its position)
    for _, _, tree in project.python:
        for function in functions(tree):
            if "connect" not in {
                name_of(c.func) for c in ast.walk(function) if isinstance(c, ast.Call)
            }:
                continue
            for position, (argument, default) in enumerate(parameter_defaults(function)):
                if FLAG.match(argument.arg) and is_const(default, False):
                    helpers[function.name] = (argument.arg, position)
    if not helpers:
        return
    for rel, _, tree in project.python:
        for function in functions(tree):
            assigned = {
                n.targets[0].id: n.value
                for n in ast.walk(function)
                if isinstance(n, ast.Assign)
                and len(n.targets) == 1
                and isinstance(n.targets[0], ast.Name)
            }
            for call in calls(function, *helpers):
                flag, position = helpers[name_of(call.func)]
                given = keyword(call, flag)
                if given is None and len(call.args) > position:
                    given = call.args[position]
                if given is not None and not is_const(given, False):
                    continue
                if call.args and write_statement(call.args[0], assigned):
                    yield (
                        rel,
                        call.lineno,
                        (
                            f"{name_of(call.func)}() runs a write on a connection it opens with "
                            f"connect() and commits only when {flag}=True: without it the write "
                            "is rolled back when the connection closes, and the caller sees it "
                            f"succeed; pass {flag}=True, or open the connection with begin()"
                        ),
                    )


# in ast.dump(): a get_bind that looks at the session's transaction or state
ROUTING_AWARE = re.compile(r"in_transaction|_transaction'|'info'|for_update|'dirty'|'new'")


@rule("replica-routing-in-transaction", "skills/async-db-layer/references/db-package.md")
def replica_routing(project: Project):
    for rel, _, tree in project.python:
        for cls in (n for n in ast.walk(tree) if isinstance(n, ast.ClassDef)):
            for function in cls.body:
                if not isinstance(function, ast.FunctionDef) or function.name != "get_bind":
                    continue
                body = ast.dump(function)
                returns = {
                    ast.dump(r.value)
                    for r in ast.walk(function)
                    if isinstance(r, ast.Return) and r.value
                }
                by_statement = re.search(  # flushes and statement types, read in ast.dump()
                    r"_flushing|\b(Insert|Update|Delete|UpdateBase)\b|is_(insert|update|delete)",
                    body,
                )
                if len(returns) >= 2 and by_statement and not ROUTING_AWARE.search(body):
                    yield (
                        rel,
                        function.lineno,
                        (
                            "get_bind() sends every statement that is not a flush or an "
                            "INSERT/UPDATE/DELETE to the reader, also inside a transaction that "
                            "has written: a read right after a write misses it (another "
                            "connection, and a replica that may lag), and SELECT ... FOR UPDATE "
                            "goes to a "
                            "read-only standby; route by the session (a read session and a write "
                            "session), or send a session to the writer once it has written"
                        ),
                    )


# --- a write through a session that reads (a replica's, or one without a transaction) ------

READ_SESSION = re.compile(r"Read\w*Session|Replica\w*Session|get_read_session|read_session")
WRITE_METHODS = {"add", "add_all", "delete", "merge", "commit", "bulk_save_objects"}
WRITE_METHODS |= {"bulk_insert_mappings", "bulk_update_mappings"}
WRITE_SQL = re.compile(r"\s*(insert|update|delete|merge|create|drop|alter|truncate)\b", re.I)


def read_session_parameters(function) -> set[str]:
    """Parameters that receive a read session: annotated ReadSession, ReadSessionDep, ...,
    or defaulting to Depends(get_read_session)."""
    args = function.args
    params = [*args.posonlyargs, *args.args, *args.kwonlyargs]
    defaults = [None] * (len(args.posonlyargs) + len(args.args) - len(args.defaults))
    defaults += [*args.defaults, *args.kw_defaults]
    found = set()
    for param, default in zip(params, defaults):  # noqa: B905 - strict= needs 3.10; same length
        names = [
            name_of(n)
            for part in (param.annotation, default)
            if part is not None
            for n in ast.walk(part)
            if isinstance(n, (ast.Name, ast.Attribute))
        ]
        if any(READ_SESSION.fullmatch(name) or READ_SESSION.search(name) for name in names):
            found.add(param.arg)
    return found


@rule("write-through-read-session", "skills/async-db-layer/references/db-package.md")
def write_through_read_session(project: Project):
    for rel, _, tree in project.python:
        for function in ast.walk(tree):
            if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            readers = read_session_parameters(function)
            for call in (n for n in ast.walk(function) if isinstance(n, ast.Call)):
                receiver, method = method_call(call)
                if not isinstance(receiver, ast.Name) or receiver.id not in readers:
                    continue
                statement = call.args[0] if call.args else None
                writes = method in WRITE_METHODS or (
                    method in ("execute", "exec", "scalar", "scalars")
                    and statement is not None
                    and (
                        name_of(getattr(statement, "func", None)) in ("insert", "update", "delete")
                        or any(WRITE_SQL.match(s) for s in strings(statement))
                    )
                )
                if writes:
                    yield (
                        rel,
                        call.lineno,
                        (
                            f"{receiver.id}.{method}() writes through a read session (no "
                            "transaction, or a read replica): the layer refuses it and the "
                            "request fails; take the write session (DBSession / SessionDep) "
                            "in a route that writes"
                        ),
                    )


# --- lazy relationships read inside async code --------------------------------------------

EAGER_TEXT = re.compile(
    r"selectinload|joinedload|subqueryload|immediateload|contains_eager|raiseload|"
    r"refresh|awaitable_attrs|run_sync|with_parent"
)


def lazy_select_relationships(project: Project) -> set[str]:
    """Relationship attributes that load on access (lazy="select", the default)."""
    found = set()
    for _, _, tree in project.python:
        for node in ast.walk(tree):
            value = getattr(node, "value", None)
            target = node.target if isinstance(node, ast.AnnAssign) else None
            if isinstance(node, ast.Assign) and len(node.targets) == 1:
                target = node.targets[0]
            if not (
                isinstance(value, ast.Call)
                and name_of(value.func) in ("relationship", "Relationship")
            ):
                continue
            lazy = [s for s in strings(value) if s in LAZY_STRATEGIES]
            if isinstance(target, ast.Name) and (not lazy or lazy == ["select"]):
                found.add(target.id)
    return found


LAZY_STRATEGIES = {"select", "selectin", "joined", "subquery", "immediate", "raise"}
LAZY_STRATEGIES |= {"raise_on_sql", "noload", "dynamic", "write_only"}


def loaded_from_session(function) -> set[str]:
    """Names bound in this function to objects an awaited session call returned."""
    names = set()
    for node in ast.walk(function):
        value = node.value if isinstance(node, ast.Assign) else getattr(node, "iter", None)
        targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
        if not isinstance(node, (ast.Assign, ast.For, ast.AsyncFor)) or value is None:
            continue
        awaited = [a for a in ast.walk(value) if isinstance(a, ast.Await)]
        if any(
            method in QUERY_METHODS and session_like(receiver)
            for a in awaited
            for receiver, method in [method_call(a.value)]
        ):
            names.update(t.id for t in targets if isinstance(t, ast.Name))
    return names


@rule("lazy-relationship-in-async", "references/query-optimization.md")
def lazy_relationship_in_async(project: Project):
    lazy = lazy_select_relationships(project)
    if not lazy:
        return
    after_close = {(rel, line) for rel, line, _ in lazy_after_close(project)}
    for rel, _, tree in project.python:
        for function in (f for f in functions(tree) if isinstance(f, ast.AsyncFunctionDef)):
            if EAGER_TEXT.search(ast.dump(function)):
                continue
            loaded = loaded_from_session(function)
            for node in lazy_reads(function, loaded, lazy):
                if (rel, node.lineno) not in after_close:
                    yield (
                        rel,
                        node.lineno,
                        (
                            f"{node.value.id}.{node.attr} is a lazy relationship read in async "
                            "code: the load it triggers cannot run under asyncio and raises "
                            "MissingGreenlet (a 500 where the code meant another answer); load it "
                            "in the query with selectinload(), or await "
                            f"{node.value.id}.awaitable_attrs.{node.attr}"
                        ),
                    )
                    break


# --- command line -----------------------------------------------------------------------


def run(root: Path) -> tuple[list[str], Project]:
    project = Project(root)
    found = set()
    for rule_id, (check, reference) in RULES.items():
        for rel, line, message in check(project):
            found.add((rel, line, f"{rel}:{line}: [{rule_id}] {message} (see {reference})"))
    return [text for _, _, text in sorted(found)], project


def main(argv: list[str]) -> int:
    if "--rules" in argv:
        for rule_id, (_, reference) in RULES.items():
            print(f"{rule_id}\t{reference}")
        return 0
    root = Path(argv[0] if argv else ".")
    if not root.is_dir():
        print(f"db_doctor: {root} is not a folder; give the project's folder", file=sys.stderr)
        return 2
    findings, project = run(root.resolve())
    for note in project.notes:
        print(f"db_doctor: {note}", file=sys.stderr)
    if not project.python and (project.notes or not project.texts):
        what = "no .py file could be read as Python" if project.notes else "no .py file"
        print(f"db_doctor: {root} holds no Python project ({what})", file=sys.stderr)
        return 2
    for line in findings:
        print(line)
    if project.unreadable:
        for line in project.unreadable:
            print(f"db_doctor: {line}; fix its permissions and run again", file=sys.stderr)
        return 2
    print(
        f"db_doctor: {len(findings)} finding(s) in {len(project.python)} Python files",
        file=sys.stderr,
    )
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
