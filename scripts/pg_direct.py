"""One asyncpg connection, straight to the server a SQLAlchemy URL names
(postgresql+asyncpg://user:password@host:port/database), for the maintainer tools and tests
that drive a server themselves: replay, pauses, counts of sessions left. Every connect is
bounded (CONNECT_TIMEOUT seconds)."""

from __future__ import annotations

import asyncpg
from sqlalchemy.engine import make_url

CONNECT_TIMEOUT = 5


async def connect(url: str) -> asyncpg.Connection:
    parts = make_url(url)
    return await asyncpg.connect(
        host=parts.host,
        port=parts.port,
        user=parts.username,
        password=parts.password,
        database=parts.database or "postgres",
        timeout=CONNECT_TIMEOUT,
    )
