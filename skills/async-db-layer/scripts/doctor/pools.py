"""Pools and engines: a sync pool on an async engine, a pooler without its settings, more
connections than the server takes."""

from __future__ import annotations

import ast
import re

from .nodes import calls, keyword, name_of
from .project import Project
from .registry import rule


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
