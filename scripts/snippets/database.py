"""A fresh, empty database for one document run: a SQLite file, or a PostgreSQL database
created on the server named by TEST_POSTGRES_URL and dropped afterwards."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from .model import BlockFailure


def postgres_admin_url() -> str | None:
    return os.environ.get("TEST_POSTGRES_URL") or None


class Database:
    def __init__(self, backend: str, project: Path, name: str) -> None:
        self.backend, self.project, self.name = backend, project, name
        self.url = ""

    def create(self) -> None:
        if self.backend == "sqlite":
            self.url = f"sqlite+aiosqlite:///{self.project / 'snippets.db'}"
            return
        admin = postgres_admin_url()
        if admin is None:
            raise BlockFailure("no PostgreSQL server: set TEST_POSTGRES_URL (scripts/test.sh does)")
        from sqlalchemy.engine import make_url

        run_admin(admin, f'DROP DATABASE IF EXISTS "{self.name}"')
        run_admin(admin, f'CREATE DATABASE "{self.name}"')
        url = make_url(admin).set(database=self.name)
        self.url = url.render_as_string(hide_password=False)

    def drop(self) -> None:
        if self.backend == "postgres" and self.url:
            run_admin(postgres_admin_url(), f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


def run_admin(admin_url: str, *statements: str) -> None:
    """Statements on the server's `postgres` database, outside a transaction (CREATE
    DATABASE needs that), on an event loop of their own."""
    import asyncpg
    from sqlalchemy.engine import make_url

    url = make_url(admin_url)

    async def run() -> None:
        conn = await asyncpg.connect(
            user=url.username,
            password=url.password,
            host=url.host,
            port=url.port,
            database="postgres",
        )
        try:
            for statement in statements:
                await conn.execute(statement)
        finally:
            await conn.close()

    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(run())
    finally:
        loop.close()
