"""What the project declares: SQLAlchemy without its asyncio extra."""

from __future__ import annotations

import re

from .nodes import below_2_1, sqlmodel_caps_sqlalchemy
from .project import Project
from .registry import rule

# SQLAlchemy's extras that bring greenlet (each requires sqlalchemy[asyncio])
ASYNC_EXTRAS = {"asyncio", "postgresql-asyncpg", "postgresql_asyncpg", "aiosqlite", "aiomysql"}


ASYNC_EXTRAS |= {"asyncmy", "aioodbc"}


NO_EXTRA = (
    "sqlalchemy without the [asyncio] extra: SQLAlchemy 2.1 installs greenlet only with it, and "
    "async engines then fail at the first query; declare sqlalchemy[asyncio]"
)


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
