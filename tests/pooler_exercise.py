"""The scaffolded Supabase layer behind PgBouncer in transaction mode, with TLS, run inside
the project by tests/test_bench.py (PYTHONPATH: the project and scripts/):

1. round trips of a warm read, counted at the wire, beside raw asyncpg through the pooler;
2. 10 waves of 100 concurrent reads on the client-side pool: no prepared-statement error;
3. after 1,000 reads, the named prepared statements left on the pooler's server connections:
   none; and the control, the same load with named statements, leaves some.

Prints `name: value` lines; exits non-zero at the first failure.
"""

import asyncio
import os
from uuid import uuid4

import asyncpg
import pgwire_proxy
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

BOUNCER = make_url(os.environ["TEST_PGBOUNCER_URL"])
DATABASE = os.environ["POOLER_DATABASE"]  # fresh: the pooler's server connections are ours


async def connect(port: int) -> asyncpg.Connection:
    """Raw asyncpg to the pooler (directly, or through the counting proxy): TLS, no cache."""
    return await asyncpg.connect(
        host=BOUNCER.host if port == BOUNCER.port else "127.0.0.1",
        port=port,
        user=BOUNCER.username,
        password=BOUNCER.password,
        database=DATABASE,
        ssl="require",
        statement_cache_size=0,
    )


async def left_on_server_connections() -> int:
    """Named prepared statements on the pooler's server connections: ask often enough that
    each of them (default_pool_size = 10) answers."""
    conn = await connect(BOUNCER.port)
    try:
        seen = [
            await conn.fetchval("SELECT count(*) FROM pg_prepared_statements") for _ in range(60)
        ]
        return max(seen)
    finally:
        await conn.close()


async def main() -> None:
    proxy = pgwire_proxy.Proxy(BOUNCER.host, BOUNCER.port)
    await proxy.start()
    os.environ.update(
        DB_TYPE="supabase",
        DB_HOST="127.0.0.1",
        DB_PORT=str(proxy.port),
        DB_NAME=DATABASE,
        DB_USER=BOUNCER.username,
        DB_PASSWORD=BOUNCER.password,
        DB_POOLER="transaction",
    )
    import db
    from db.core.engine import get_read_sessionmaker

    reads = get_read_sessionmaker()

    async def read(i: int) -> int:
        async with reads() as session:
            return await session.scalar(text("SELECT :i + 1"), {"i": i})

    for i in range(5):
        assert await read(i) == i + 1
    before = proxy.round_trips
    await read(1)
    print(f"layer read round trips: {proxy.round_trips - before}")

    raw = await connect(proxy.port)
    await raw.fetchval("SELECT $1::int + 1", 1)
    before = proxy.round_trips
    await raw.fetchval("SELECT $1::int + 1", 2)
    print(f"raw asyncpg read round trips: {proxy.round_trips - before}")
    await raw.close()

    errors = 0
    for _ in range(10):
        results = await asyncio.gather(*(read(i) for i in range(100)), return_exceptions=True)
        errors += sum(isinstance(r, BaseException) for r in results)
        wrong = [
            r for i, r in enumerate(results) if not isinstance(r, BaseException) and r != i + 1
        ]
        assert not wrong, wrong
    print(f"errors in 1000 concurrent reads: {errors}")
    print(f"named statements left: {await left_on_server_connections()}")
    await db.dispose_engine()

    settings = db.configuration.settings.load_settings()
    named = create_async_engine(  # the control: named statements, as before
        db.core.factory.get_connector(settings).url(),
        connect_args={
            "ssl": "require",
            "statement_cache_size": 0,
            "prepared_statement_cache_size": 0,
            "prepared_statement_name_func": lambda: f"__asyncpg_{uuid4()}__",
        },
    )
    for i in range(100):
        async with named.connect() as conn:
            await conn.execute(text("SELECT CAST(:i AS int)"), {"i": i})
    await named.dispose()
    print(f"named statements left by the control: {await left_on_server_connections()}")
    await proxy.stop()


asyncio.run(main())
