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
        self.is_async = bool(ASYNC_DRIVERS.search(joined))
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
                self.python.append((rel, text, ast.parse(text, filename=rel)))
            except (SyntaxError, ValueError, RecursionError) as exc:
                self.notes.append(f"{rel}: not read as Python ({type(exc).__name__}); skipped")


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
        for call in calls(tree, "Depends", "Security"):
            target = name_of(call.args[0]) if call.args else ""
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


@rule("expire-on-commit", "skills/async-sqlalchemy/references/fastapi-app.md")
def expire_on_commit(project: Project):
    for rel, _, tree in project.python:
        for call in calls(tree, "async_sessionmaker", "AsyncSession", "sessionmaker"):
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
                    "(MissingGreenlet); pass expire_on_commit=False"
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
            pool = name_of(keyword(call, "poolclass"))
            if pool in ("QueuePool", "SingletonThreadPool"):
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


@rule("sqlalchemy-asyncio-extra", "skills/async-db-layer/references/db-package.md")
def sqlalchemy_extra(project: Project):
    if not project.is_async:
        return
    for rel, text in project.texts:
        if not (rel.endswith("pyproject.toml") or re.search(r"requirements[^/]*\.txt$", rel)):
            continue
        if re.search(r"^\s*[\"']?greenlet", text, re.MULTILINE | re.IGNORECASE):
            continue
        for number, line in enumerate(text.splitlines(), start=1):
            match = re.match(
                r"""^\s*["']?sqlalchemy(?![\w.-])\s*(\[[^\]]*\])?\s*([^"',#]*)""", line, re.I
            )
            extras = (
                set(re.split(r"[\s,]+", (match.group(1) or "").strip("[]").lower()))
                if match
                else set()
            )
            if not match or extras & ASYNC_EXTRAS:
                continue
            if re.search(r"<\s*2\.1|==\s*2\.0|~=\s*2\.0", match.group(2)):
                continue  # pinned below 2.1, where greenlet still comes along
            yield (
                rel,
                number,
                (
                    "sqlalchemy without the [asyncio] extra: SQLAlchemy 2.1 installs greenlet only "
                    "with it, and async engines then fail at the first query; declare "
                    "sqlalchemy[asyncio]"
                ),
            )


@rule("sqlite-foreign-keys", "skills/async-sqlmodel/references/database-setup.md")
def sqlite_foreign_keys(project: Project):
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


def naive_now(value) -> bool:
    """datetime.utcnow, datetime.now, or a lambda calling either without a timezone."""
    if isinstance(value, ast.Lambda):
        value = value.body
        if isinstance(value, ast.Call) and name_of(value.func) in ("utcnow", "now"):
            return name_of(value.func) == "utcnow" or not (value.args or value.keywords)
        return False
    return isinstance(value, ast.Attribute) and value.attr in ("utcnow", "now")


@rule("naive-datetime-default", "references/schema-patterns.md")
def naive_datetime(project: Project):
    for rel, _, tree in project.python:
        for call in calls(tree, "Column", "mapped_column", "Field", "column_property"):
            aware = any(
                isinstance(n, ast.keyword) and n.arg == "timezone" and is_const(n.value, True)
                for n in ast.walk(call)
            ) or any(name_of(n) in ("UTCDateTime", "TIMESTAMPTZ") for n in ast.walk(call))
            for key in ("default", "default_factory", "onupdate"):
                value = keyword(call, key)
                if aware and value is not None and naive_now(value):
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


INI_URL = re.compile(r"^\s*sqlalchemy\.url\s*=\s*\S+://[^:/@\s]*:([^@\s]+)@", re.IGNORECASE)


@rule("alembic-ini-password", "references/migrations.md")
def alembic_ini_password(project: Project):
    for rel, number, line in project.lines(lambda rel: rel.endswith("alembic.ini")):
        match = INI_URL.match(line)
        if (
            match
            and not match.group(1).startswith(("%(", "${"))
            and "driver://user:pass@" not in line
        ):
            yield (
                rel,
                number,
                (
                    "a database password in alembic.ini, a file that is committed; leave "
                    "sqlalchemy.url out and take the URL from the app's settings in env.py"
                ),
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
        for call in calls(tree, "engine_from_config", "create_engine"):
            yield (
                rel,
                call.lineno,
                (
                    "a sync Alembic env.py in a project whose URL uses an async driver: migrations "
                    "fail (MissingGreenlet) or need a second driver; use the async template "
                    "(async_engine_from_config and connection.run_sync)"
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
            for node in ast.walk(later):
                if (
                    isinstance(node, ast.Attribute)
                    and isinstance(node.value, ast.Name)
                    and node.value.id in loaded
                    and node.attr in lazy
                ):
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


@rule("pool-over-max-connections", "skills/async-sqlmodel/references/production-patterns.md")
def pool_over_max(project: Project):
    limits = numbers(r"max_connections\s*[=:]?\s*(\d+)", project)
    workers = numbers(
        r"(?:--workers|-w)[ =](\d+)\b|\bworkers\s*=\s*(\d+)|WEB_CONCURRENCY=(\d+)", project
    )
    workers = workers or numbers(r"(?:--workers|-w)[ =](\d+)", project)
    if not limits or not workers:
        return
    for rel, _, tree in project.python:
        for call in calls(tree, "create_async_engine"):
            size = keyword(call, "pool_size")
            overflow = keyword(call, "max_overflow")
            size = size.value if isinstance(size, ast.Constant) else 5  # SQLAlchemy's defaults
            overflow = overflow.value if isinstance(overflow, ast.Constant) else 10
            most = (size + overflow) * max(w for _, _, w in workers)
            limit = min(m for _, _, m in limits)
            if isinstance(most, int) and most > limit:
                yield (
                    rel,
                    call.lineno,
                    (
                        f"pool_size {size} + max_overflow {overflow}, times "
                        f"{max(w for _, _, w in workers)} workers, is {most} connections, over the "
                        f"server's max_connections {limit}: requests wait, then fail with "
                        "'too many clients'; size the pool to fit, or put a pooler in front"
                    ),
                )


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
