"""Alembic: a password in alembic.ini, a sync env.py on an async project."""

from __future__ import annotations

import re

from .nodes import calls, sqlalchemy_stays_on_2_0
from .project import Project
from .registry import rule

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
