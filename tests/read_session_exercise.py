"""Generated routes that write, through the read dependency and the write one of a taught app.

Run by tests/test_read_session.py in a fresh interpreter with the project as the working
folder and DATABASE_URL set: python read_session_exercise.py FLAVOUR EXAMPLES SEED
FLAVOUR is `layer:PACKAGE` (the scaffolded db/ package), `fastapi-app` (fastapi-app.md) or
`servicebase` (the SQLModel app of fastapi-integration.md, through its services).

Each example is a route made of one to three ways of writing (every ORM and Core way, raw
SQL spelled in generated ways), an optional flush and read after them, and a 2xx status to
answer. Each way works on rows seeded for it. The property, checked on the database itself:
- through the write dependency the route answers its status and every write is stored
  (this proves each way really writes);
- through the read dependency it never answers 2xx, nothing at all is stored, and the error
  names the read dependency and the write one.
It prints one JSON line: the counts by dependency, way and status, and any violation.
"""

# No `from __future__ import annotations`: FastAPI must resolve the routes' annotations.
import asyncio
import importlib
import json
import os
import re
import sys
from collections import Counter
from typing import Any

import httpx
from fastapi import FastAPI, Response
from fastapi.responses import PlainTextResponse
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from sqlalchemy import ForeignKey, String, delete, insert, select, text, update
from sqlalchemy.orm import selectinload

FLAVOUR, EXAMPLES, SEED = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
BACKEND = "sqlite" if os.environ["DATABASE_URL"].startswith("sqlite") else "postgresql"

if FLAVOUR.startswith("layer:"):
    package = FLAVOUR.split(":", 1)[1]
    deps = importlib.import_module(f"{package}.session.dependencies")
    engine = importlib.import_module(package).get_engine()
    READ, WRITE, NAMES = deps.ReadSession, deps.DBSession, ("ReadSession", "DBSession")
elif FLAVOUR == "fastapi-app":
    from app.database import ReadSessionDep, SessionDep, engine

    READ, WRITE, NAMES = ReadSessionDep, SessionDep, ("ReadSessionDep", "SessionDep")
elif FLAVOUR == "servicebase":
    from app.api.deps import ReadTeamServiceDep, TeamServiceDep
    from app.database import engine
    from app.models import Team, TeamCreate, TeamUpdate

    READ, WRITE, NAMES = ReadTeamServiceDep, TeamServiceDep, ("ReadSessionDep", "SessionDep")
else:
    raise SystemExit(f"unknown flavour {FLAVOUR!r}")

if FLAVOUR == "servicebase":  # SQLModel tables, as that app's code has them
    from sqlmodel import Field, Relationship, SQLModel

    class Probe(SQLModel, table=True):
        __tablename__ = "probes"
        id: int | None = Field(default=None, primary_key=True)
        body: str = Field(max_length=100)
        children: list["ProbeChild"] = Relationship(back_populates="probe")

    class ProbeChild(SQLModel, table=True):
        __tablename__ = "probe_children"
        id: int | None = Field(default=None, primary_key=True)
        body: str = Field(max_length=100)
        probe_id: int = Field(foreign_key="probes.id")
        probe: Probe | None = Relationship(back_populates="children")

    METADATA = SQLModel.metadata
else:
    from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

    class Base(DeclarativeBase):
        pass

    class Probe(Base):
        __tablename__ = "probes"
        id: Mapped[int] = mapped_column(primary_key=True)
        body: Mapped[str] = mapped_column(String(100))
        children: Mapped[list["ProbeChild"]] = relationship(back_populates="probe")

    class ProbeChild(Base):
        __tablename__ = "probe_children"
        id: Mapped[int] = mapped_column(primary_key=True)
        body: Mapped[str] = mapped_column(String(100))
        probe_id: Mapped[int] = mapped_column(ForeignKey("probes.id"))
        probe: Mapped[Probe] = relationship(back_populates="children")

    METADATA = Base.metadata


# --- the ways of writing: (session or service, seeded row, value) -> what the database gains
# and loses, as a Counter of (table, text)


async def orm_add(s, row, v):
    s.add(Probe(body=v))
    return {("probe", v): 1}


async def orm_add_all(s, row, v):
    s.add_all([Probe(body=v), Probe(body=v + "b")])
    return {("probe", v): 1, ("probe", v + "b"): 1}


async def orm_change(s, row, v):
    (await s.get(Probe, row["probe"])).body = v
    return {("probe", row["probe_body"]): -1, ("probe", v): 1}


async def orm_delete(s, row, v):
    await s.delete(await s.get(Probe, row["probe"]))
    return {("probe", row["probe_body"]): -1}


async def orm_merge(s, row, v):
    await s.merge(Probe(id=row["probe"], body=v))
    return {("probe", row["probe_body"]): -1, ("probe", v): 1}


async def orm_child_append(s, row, v):
    probe = await s.get(Probe, row["probe"], options=[selectinload(Probe.children)])
    probe.children.append(ProbeChild(body=v))
    return {("child", v): 1}


async def orm_bulk_insert(s, row, v):
    await s.execute(insert(Probe), [{"body": v}])
    return {("probe", v): 1}


async def orm_update_statement(s, row, v):
    await s.execute(update(Probe).where(Probe.id == row["probe"]).values(body=v))
    return {("probe", row["probe_body"]): -1, ("probe", v): 1}


async def orm_delete_statement(s, row, v):
    await s.execute(delete(Probe).where(Probe.id == row["probe"]))
    return {("probe", row["probe_body"]): -1}


async def core_insert_returning(s, row, v):
    table = Probe.__table__
    await s.execute(insert(table).values(body=v).returning(table.c.id))
    return {("probe", v): 1}


async def connection_execute(s, row, v):
    conn = await s.connection()
    await conn.execute(Probe.__table__.insert().values(body=v))
    return {("probe", v): 1}


async def driver_sql(s, row, v):
    conn = await s.connection()
    await conn.exec_driver_sql(f"INSERT INTO probes (body) VALUES ('{v}')")
    return {("probe", v): 1}


async def bulk_save_objects(s, row, v):
    await s.run_sync(lambda sync: sync.bulk_save_objects([Probe(body=v)]))
    return {("probe", v): 1}


def text_way(kind: str):
    async def way(s, row, v, spell):
        sql = {
            "insert": "INSERT INTO probes (body) VALUES (:v)",
            "update": "UPDATE probes SET body = :v WHERE id = :id",
            "delete": "DELETE FROM probes WHERE id = :id",
            "cte": "WITH w AS (INSERT INTO probes (body) VALUES (:v) RETURNING id) SELECT 1",
        }[kind]
        params = {"v": v, "id": row["probe"]} if ":id" in sql else {"v": v}
        if kind == "delete":
            params.pop("v")
        await s.execute(text(spell(sql)), params)
        gone = {("probe", row["probe_body"]): -1} if kind in ("update", "delete") else {}
        return {**gone, **({} if kind == "delete" else {("probe", v): 1})}

    way.__name__ = f"text_{kind}"
    return way


async def service_create(svc, row, v):
    await svc.create(TeamCreate(name=v))
    return {("team", v): 1}


async def service_update(svc, row, v):
    await svc.update(row["team"], TeamUpdate(name=v))
    return {("team", row["team_name"]): -1, ("team", v): 1}


async def service_delete(svc, row, v):
    await svc.delete(row["team"])
    return {("team", row["team_name"]): -1}


async def service_get_and_change(svc, row, v):
    (await svc.get(row["team"])).name = v
    return {("team", row["team_name"]): -1, ("team", v): 1}


SESSION_WAYS = [
    orm_add,
    orm_add_all,
    orm_change,
    orm_delete,
    orm_merge,
    orm_child_append,
    orm_bulk_insert,
    orm_update_statement,
    orm_delete_statement,
    core_insert_returning,
    connection_execute,
    driver_sql,
    bulk_save_objects,
]
TEXT_WAYS = [text_way(k) for k in ("insert", "update", "delete")]
if BACKEND == "postgresql":  # SQLite has no writing WITH
    TEXT_WAYS.append(text_way("cte"))
SERVICE_WAYS = (
    [service_create, service_update, service_delete, service_get_and_change]
    if FLAVOUR == "servicebase"
    else []
)
WAYS = SESSION_WAYS + TEXT_WAYS + SERVICE_WAYS


def spelling():
    """SQL as people write it: any case, comments and white space before the first word."""
    lead = st.sampled_from(["", " ", "\n  ", "-- a note\n", "/* why */ ", "/* a */\n-- b\n"])
    case = st.sampled_from([str.upper, str.lower, str.title, lambda s: s])

    @st.composite
    def build(draw):
        before, change = draw(lead), draw(case)

        def spell(sql: str) -> str:  # words change case; :names stay as they are
            return before + re.sub(r"(?<![:\w])[A-Za-z_]+", lambda m: change(m[0]), sql)

        return spell

    return build()


# --- the database, seen from outside the app


async def contents() -> Counter:
    async with engine.connect() as conn:
        found = Counter()
        for body in (await conn.execute(select(Probe.__table__.c.body))).scalars():
            found["probe", body] += 1
        for body in (await conn.execute(select(ProbeChild.__table__.c.body))).scalars():
            found["child", body] += 1
        if FLAVOUR == "servicebase":
            for name in (await conn.execute(select(Team.__table__.c.name))).scalars():
                found["team", name] += 1
        return found


async def seed_rows(n: int) -> dict[str, Any]:
    """A fresh probe (and team) for one way of one example."""
    async with engine.begin() as conn:
        probe = await conn.scalar(
            insert(Probe.__table__).values(body=f"s{n}").returning(Probe.__table__.c.id)
        )
        row = {"probe": probe, "probe_body": f"s{n}"}
        if FLAVOUR == "servicebase":
            team = await conn.scalar(
                insert(Team.__table__).values(name=f"t{n}").returning(Team.__table__.c.id)
            )
            row |= {"team": team, "team_name": f"t{n}"}
        return row


def make_app(dependency, steps, flush: bool, read_after: bool, status: int) -> FastAPI:
    app = FastAPI()
    app.state.errors, app.state.gained = [], None

    @app.exception_handler(Exception)
    async def record(request, exc: Exception):
        app.state.errors.append(exc)
        return PlainTextResponse("Internal Server Error", status_code=500)

    @app.post("/route")
    async def route(given: dependency, response: Response):
        session = given.session if FLAVOUR == "servicebase" else given
        gained = Counter()
        for way, row, value, spell in steps:
            target = given if way in SERVICE_WAYS else session
            args = (target, row, value, spell) if way in TEXT_WAYS else (target, row, value)
            gained.update(await way(*args))
        app.state.gained = gained
        if flush:
            await session.flush()
        if read_after:
            await session.execute(select(Probe.__table__.c.id).limit(1))
        response.status_code = status
        return {"ways": len(steps)}

    return app


async def request(app: FastAPI) -> int:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return (await client.post("/route")).status_code


seen: Counter = Counter()
violations: list[str] = []
counter = iter(range(10**9))


async def one_example(ways, flush, read_after, status, spells) -> None:
    for via, dependency in (("write", WRITE), ("read", READ)):
        steps = []
        for way, spell in zip(ways, spells[: len(ways)], strict=True):
            n = next(counter)
            steps.append((way, await seed_rows(n), f"v{n}", spell))
        before = await contents()
        app = make_app(dependency, steps, flush, read_after, status)
        answered = await request(app)
        after = await contents()
        names = "+".join(w.__name__ for w in ways)
        seen[f"{via} {answered}"] += 1
        for way in ways:
            seen[f"{via} way {way.__name__}"] += 1
        gained = Counter(after)
        gained.subtract(before)
        gained = {k: c for k, c in gained.items() if c}
        if via == "write":
            want = {k: c for k, c in (app.state.gained or {}).items() if c}
            if answered != status or gained != want:
                errors = [repr(e) for e in app.state.errors]
                violations.append(
                    f"write {names}: {answered}, stored {gained}, not {want} {errors}"
                )
            continue
        if 200 <= answered < 300:
            violations.append(f"read {names}: answered {answered}; stored {gained}")
        elif gained:
            violations.append(f"read {names}: answered {answered} but stored {gained}")
        else:
            [error] = app.state.errors or [None]
            message = str(error)
            if type(error).__name__ != "ReadOnlyError" or not all(n in message for n in NAMES):
                violations.append(f"read {names}: refused with {error!r}, not naming {NAMES}")


async def main() -> None:
    async with engine.begin() as conn:
        await conn.run_sync(METADATA.create_all)
    loop = asyncio.get_running_loop()

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(
        ways=st.lists(st.sampled_from(WAYS), min_size=1, max_size=3),
        flush=st.booleans(),
        read_after=st.booleans(),
        status=st.sampled_from([200, 201, 204]),
        spells=st.lists(spelling(), min_size=3, max_size=3),
    )
    def example(ways, flush, read_after, status, spells) -> None:
        # hypothesis drives a sync function; the example runs on this process's one loop
        asyncio.run_coroutine_threadsafe(
            one_example(ways, flush, read_after, status, spells), loop
        ).result(120)

    await asyncio.to_thread(seed(SEED)(example))
    # every way, once alone, whatever the draw gave
    for way in WAYS:
        await one_example([way], False, False, 201, [lambda sql: sql] * 3)
    await engine.dispose()
    print(json.dumps({"seen": dict(sorted(seen.items())), "violations": violations}))


asyncio.run(main())
