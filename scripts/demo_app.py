"""The demo's application module: a notes API on the scaffolded layer (copied to app/main.py)."""

from contextlib import asynccontextmanager

from app.db import check_database, dispose_engine, get_engine
from app.db.session.dependencies import DBSession
from fastapi import FastAPI
from pydantic import BaseModel
from sqlalchemy import String, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Note(Base):
    __tablename__ = "notes"
    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str] = mapped_column(String(200))


class NoteIn(BaseModel):
    text: str


class NoteOut(BaseModel):
    id: int
    text: str


@asynccontextmanager
async def lifespan(app: FastAPI):
    await check_database()
    async with get_engine().begin() as conn:  # a demo; real projects use Alembic
        await conn.run_sync(Base.metadata.create_all)
    yield
    await dispose_engine()


app = FastAPI(lifespan=lifespan)


@app.post("/notes", status_code=201)
async def create_note(note: NoteIn, session: DBSession) -> NoteOut:
    row = Note(text=note.text)
    session.add(row)
    await session.flush()
    return NoteOut(id=row.id, text=row.text)


@app.get("/notes")
async def list_notes(session: DBSession) -> list[NoteOut]:
    rows = await session.scalars(select(Note).order_by(Note.id))
    return [NoteOut(id=r.id, text=r.text) for r in rows]
