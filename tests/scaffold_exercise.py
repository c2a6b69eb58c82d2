"""Exercise a scaffolded db package from inside the project, as the user's app would.

Run by tests/test_scaffold.py in a fresh interpreter with the project as the working
folder: python scaffold_exercise.py PACKAGE BACKEND OPTIONS POOL_SIZE
(OPTIONS is a comma list of fastapi, uow; POOL_SIZE is the pool size the settings should give).
It prints one line per step and exits non-zero at the first failure.
"""

# No `from __future__ import annotations`: FastAPI must resolve DBSession, a local name.
import asyncio
import importlib
import sys
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from fastapi import FastAPI
from sqlalchemy import ForeignKey, String, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.pool import NullPool

PACKAGE, BACKEND, OPTIONS, POOL_SIZE = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
options = set(filter(None, OPTIONS.split(",")))
module = PACKAGE.replace("/", ".")
db = importlib.import_module(module)


class Base(DeclarativeBase):
    pass


class Team(Base):
    __tablename__ = "scaffold_teams"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50), unique=True)


class Member(Base):
    __tablename__ = "scaffold_members"
    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("scaffold_teams.id"))


def step(name: str) -> None:
    print(f"ok: {name}", flush=True)


async def count_teams() -> int:
    async with db.get_sessionmaker()() as session:
        return await session.scalar(select(func.count()).select_from(Team))


FILES = {p.relative_to(PACKAGE).as_posix() for p in Path(PACKAGE).rglob("*.py")}


async def main() -> None:
    files = FILES
    assert ("session/dependencies.py" in files) == ("fastapi" in options), files
    assert ("session/unit_of_work.py" in files) == ("uow" in options), files
    connectors = {f for f in files if f.startswith("connectors/") and not f.endswith("__init__.py")}
    expected = {f"connectors/{BACKEND}.py"} | (
        {"connectors/postgres.py"} if BACKEND == "supabase" else set()
    )
    assert connectors == expected, connectors
    step("files match the options")

    settings = db.configuration.settings.load_settings()
    assert settings.type == BACKEND, settings.type
    assert "snippets" not in repr(settings) and "snippets" not in str(db.get_engine().url)
    step("settings read from .env, password hidden")

    await db.check_database()
    step("health check")

    pool = db.get_engine().pool
    if isinstance(pool, NullPool):
        assert BACKEND == "supabase", "only Supabase's transaction pooler goes without a pool"
    else:
        assert pool.size() == POOL_SIZE, (pool.size(), POOL_SIZE)
    step(f"pool: {type(pool).__name__}")

    async with db.get_engine().begin() as conn:
        await conn.run_sync(Base.metadata.drop_all)
        await conn.run_sync(Base.metadata.create_all)
    step("create tables")

    if "uow" in options:
        from importlib import import_module

        UnitOfWork = import_module(f"{module}.session.unit_of_work").UnitOfWork
        async with UnitOfWork() as session:
            session.add(Team(name="core"))
        try:
            async with UnitOfWork() as session:
                session.add(Team(name="lost"))
                await session.flush()
                raise RuntimeError("fails after the flush")
        except RuntimeError:
            pass
        assert await count_teams() == 1
        try:
            async with UnitOfWork() as session:
                session.add(Member(team_id=424242))
            raise AssertionError("the foreign key was not enforced")
        except IntegrityError:
            pass
        async with UnitOfWork() as session:
            team = await session.scalar(select(Team).where(Team.name == "core"))
            team.name = "core-renamed"
        async with UnitOfWork() as session:
            await session.delete(await session.scalar(select(Team)))
        assert await count_teams() == 0
        step("CRUD through the Unit of Work; a failed unit leaves no row")
    else:
        async with db.get_sessionmaker()() as session:
            session.add(Team(name="plain"))
            await session.commit()
            await session.delete(await session.scalar(select(Team)))
            await session.commit()
        step("CRUD through the sessionmaker")

    if "fastapi" in options:
        DBSession = importlib.import_module(f"{module}.session.dependencies").DBSession

        @asynccontextmanager
        async def lifespan(app: FastAPI):
            await db.check_database()
            yield
            await db.dispose_engine()

        app = FastAPI(lifespan=lifespan)

        @app.post("/teams/{name}", status_code=201)
        async def create(name: str, session: DBSession) -> dict[str, str]:
            session.add(Team(name=name))
            return {"name": name}

        @app.get("/teams/{name}")
        async def read(name: str, session: DBSession) -> dict[str, int]:
            team = await session.scalar(select(Team).where(Team.name == name))
            return {"id": team.id}

        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            assert (await client.post("/teams/web")).status_code == 201
            assert (await client.get("/teams/web")).status_code == 200
            duplicate = await client.post("/teams/web")
            assert duplicate.status_code == 500, duplicate.status_code
            requests = [client.get("/teams/web") for _ in range(50)]
            statuses = {r.status_code for r in await asyncio.gather(*requests)}
            assert statuses == {200}, statuses
        assert await count_teams() == 1
        step("FastAPI: write, read, failed commit is an error, 50 concurrent reads")

    await db.dispose_engine()
    step("dispose")


asyncio.run(main())
