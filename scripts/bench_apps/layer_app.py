"""The three endpoints on the scaffolded db/ layer, written as its skill teaches: DBSession
for a write, the layer's read session for reads, the model's server default read back by the
INSERT itself.

Served by scripts/bench.py with uvicorn from a project where scaffold_db.py wrote `benchdb/`.
"""

from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from benchdb import check_database, dispose_engine, get_engine
from benchdb.session import dependencies
from fastapi import FastAPI, HTTPException
from pydantic import BaseModel
from sqlalchemy import String, func, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

DBSession = dependencies.DBSession
ReadSession = getattr(dependencies, "ReadSession", DBSession)  # reads, where the layer has one


class Base(DeclarativeBase):
    pass


class Item(Base):
    __tablename__ = "items"
    __mapper_args__ = {"eager_defaults": True}

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class ItemIn(BaseModel):
    name: str


def as_dict(item: Item) -> dict[str, Any]:
    return {"id": item.id, "name": item.name, "created_at": item.created_at}


@asynccontextmanager
async def lifespan(app: FastAPI):
    await check_database()
    async with get_engine().begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    yield
    await dispose_engine()


app = FastAPI(lifespan=lifespan)


@app.get("/items/{item_id}")
async def get_item(item_id: int, session: ReadSession) -> dict[str, Any]:
    item = await session.get(Item, item_id)
    if item is None:
        raise HTTPException(404)
    return as_dict(item)


@app.get("/items")
async def list_items(session: ReadSession, limit: int = 20, offset: int = 0) -> dict[str, Any]:
    stmt = select(Item, func.count().over().label("total")).order_by(Item.id)
    rows = (await session.execute(stmt.limit(limit).offset(offset))).all()
    return {"items": [as_dict(r.Item) for r in rows], "total": rows[0].total if rows else 0}


@app.post("/items", status_code=201)
async def create_item(data: ItemIn, session: DBSession) -> dict[str, Any]:
    item = Item(name=data.name)
    session.add(item)
    await session.flush()
    return as_dict(item)
