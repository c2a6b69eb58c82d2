"""Properties of the WAL positions a client carries, over generated input; run inside a
project scaffolded with --replicas by tests/test_replicas.py, with DATABASE_URL (a primary)
and DB_REPLICA_URLS (its standby) set.

- `lsn()` reads exactly what PostgreSQL's pg_lsn reads, to the same number, and
  `lsn_text()` writes what pg_lsn writes (the server is the oracle, not a list of shapes);
- whatever a client sends as X-DB-Position, a read answers 200: a value that is not a
  position reads as a client that wrote nothing; a position the replica has replayed reads
  there; one past everything the primary has written reads on the primary.
"""

import asyncio
import os

import asyncpg
import httpx
from db import add_database_errors, dispose_engine
from db.core.replicas import ReadYourWrites, lsn, lsn_text
from db.session.dependencies import ReadSession
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.engine import make_url

loop = asyncio.new_event_loop()
HEX = "0123456789abcdefABCDEF"
part = st.text(HEX, min_size=0, max_size=10)
noise = st.sampled_from(["", " ", "\t", "0x", "_", "+", "-", "/", "\u0661", "\uff11", "\n"])
maybe_positions = st.one_of(
    st.builds(lambda a, b, c, d, e: a + b + c + d + e, noise, part, st.just("/"), part, noise),
    st.builds(lambda a, b, c: a + "/" + b + c, part, noise, part),
    st.text(max_size=20),
)
SETTINGS = settings(
    max_examples=int(os.environ.get("EXAMPLES", "400")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def connect(url: str) -> asyncpg.Connection:
    parts = make_url(url)
    return loop.run_until_complete(
        asyncpg.connect(
            host=parts.host,
            port=parts.port,
            user=parts.username,
            password=parts.password,
            database=parts.database,
        )
    )


server = connect(os.environ["DATABASE_URL"])


def pg_reads(value: str) -> int | None:
    """What PostgreSQL makes of `value` as a pg_lsn: its number, or None if it refuses it."""
    if "\x00" in value:
        return None  # a NUL cannot reach the server as text at all
    try:
        return int(
            loop.run_until_complete(
                server.fetchval("SELECT ($1::text::pg_lsn - '0/0'::pg_lsn)::text", value)
            )
        )
    except asyncpg.DataError:
        return None


@SETTINGS
@given(maybe_positions)
def test_lsn_reads_what_pg_lsn_reads(value: str) -> None:
    try:
        ours = lsn(value)
    except ValueError:
        ours = None
    assert ours == pg_reads(value), value


@SETTINGS
@given(st.integers(min_value=0, max_value=2**64 - 1))
def test_lsn_text_writes_what_pg_lsn_writes(position: int) -> None:
    written = loop.run_until_complete(
        server.fetchval("SELECT ('0/0'::pg_lsn + $1::numeric)::text", position)
    )
    assert lsn_text(position) == written and lsn(written) == position


app = FastAPI()
add_database_errors(app)
app.add_middleware(ReadYourWrites)


@app.get("/where")
async def where(session: ReadSession) -> dict:
    return {"replica": await session.scalar(text("SELECT pg_is_in_recovery()"))}


client = httpx.AsyncClient(
    transport=httpx.ASGITransport(app=app, raise_app_exceptions=False), base_url="http://t"
)


def read(headers: dict[str, str]) -> httpx.Response:
    return loop.run_until_complete(client.get("/where", headers=headers))


def replayed() -> int:
    standby = make_url(os.environ["DB_REPLICA_URLS"])
    conn = connect(standby.render_as_string(hide_password=False))
    try:
        return lsn(loop.run_until_complete(conn.fetchval("SELECT pg_last_wal_replay_lsn()::text")))
    finally:
        loop.run_until_complete(conn.close())


header_values = st.one_of(
    maybe_positions.filter(lambda v: v.isprintable() and v == v.strip() and v.isascii()),
    st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=60),
)


@SETTINGS
@given(header_values)
def test_any_header_reads(value: str) -> None:
    answer = read({"X-DB-Position": value})
    assert answer.status_code == 200, (value, answer.text)


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_a_position_reads_where_it_is_seen(data: st.DataObject) -> None:
    head = loop.run_until_complete(server.fetchval("SELECT pg_current_wal_lsn()::text"))
    # drawn as shares and offsets: the positions themselves move as other tests write
    seen = int(replayed() * data.draw(st.floats(min_value=0, max_value=1)))
    assert read({"X-DB-Position": lsn_text(seen)}).json()["replica"] is True
    offset = data.draw(st.integers(min_value=2**32, max_value=2**63))
    ahead = min(lsn(head) + offset, 2**64 - 1)
    assert read({"X-DB-Position": lsn_text(ahead)}).json()["replica"] is False


def main() -> None:
    for _ in range(200):  # until the background check has found the replica
        if read({}).json()["replica"]:
            break
        loop.run_until_complete(asyncio.sleep(0.02))
    else:
        raise AssertionError("no read reached the replica")
    for test in (
        test_lsn_reads_what_pg_lsn_reads,
        test_lsn_text_writes_what_pg_lsn_writes,
        test_any_header_reads,
        test_a_position_reads_where_it_is_seen,
    ):
        test()
        print(f"ok: {test.__name__}")
    loop.run_until_complete(client.aclose())
    loop.run_until_complete(server.close())
    loop.run_until_complete(dispose_engine())


main()
