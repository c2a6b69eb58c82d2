"""The floor: the three endpoints on a plain asyncpg pool, no ORM, no transaction of our own.

Served by scripts/bench.py with uvicorn; DATABASE_URL is a postgresql:// URL.
"""

import os
from contextlib import asynccontextmanager

import asyncpg
from fastapi import FastAPI, HTTPException
from pydantic import BaseModel

URL = os.environ["DATABASE_URL"].replace("postgresql+asyncpg://", "postgresql://")
RESET = os.environ.get("BENCH_ASYNCPG_RESET", "1") == "1"  # asyncpg's reset on release
pool: asyncpg.Pool


class ItemIn(BaseModel):
    name: str


async def create_tables() -> None:
    conn = await asyncpg.connect(URL)
    try:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS items (id serial PRIMARY KEY, name varchar(100) "
            "UNIQUE NOT NULL, created_at timestamptz NOT NULL DEFAULT now())"
        )
    finally:
        await conn.close()


class NoReset(asyncpg.Connection):
    def get_reset_query(self) -> str:
        return ""


@asynccontextmanager
async def lifespan(app: FastAPI):
    global pool
    await create_tables()
    pool = await asyncpg.create_pool(
        URL, min_size=1, max_size=10, connection_class=asyncpg.Connection if RESET else NoReset
    )
    yield
    await pool.close()


app = FastAPI(lifespan=lifespan)


@app.get("/items/{item_id}")
async def get_item(item_id: int) -> dict:
    row = await pool.fetchrow("SELECT id, name, created_at FROM items WHERE id = $1", item_id)
    if row is None:
        raise HTTPException(404)
    return dict(row)


@app.get("/items")
async def list_items(limit: int = 20, offset: int = 0) -> dict:
    rows = await pool.fetch(
        "SELECT id, name, created_at, count(*) OVER () AS total FROM items "
        "ORDER BY id LIMIT $1 OFFSET $2",
        limit,
        offset,
    )
    total = rows[0]["total"] if rows else 0
    return {
        "items": [{k: r[k] for k in ("id", "name", "created_at")} for r in rows],
        "total": total,
    }


@app.post("/items", status_code=201)
async def create_item(item: ItemIn) -> dict:
    row = await pool.fetchrow(
        "INSERT INTO items (name) VALUES ($1) RETURNING id, name, created_at", item.name
    )
    return dict(row)
