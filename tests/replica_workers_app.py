"""The app tests/test_replicas.py serves with uvicorn --workers 2 from a project scaffolded
with --replicas: each answer says which worker process gave it and where the read ran."""

import os

import db
from db.core.replicas import ReadYourWrites
from db.session.dependencies import DBSession, ReadSession
from fastapi import FastAPI
from sqlalchemy import text

app = FastAPI()
db.add_database_errors(app)
app.add_middleware(ReadYourWrites)


@app.post("/notes", status_code=201)
async def add(session: DBSession) -> dict:
    added = await session.execute(text("INSERT INTO notes DEFAULT VALUES RETURNING id"))
    return {"id": added.scalar_one(), "worker": os.getpid()}


@app.get("/notes/{note_id}")
async def get(note_id: int, session: ReadSession) -> dict:
    sql = "SELECT EXISTS (SELECT FROM notes WHERE id = :i), pg_is_in_recovery()"
    found, on_replica = (await session.execute(text(sql), {"i": note_id})).one()
    return {"found": found, "replica": on_replica, "worker": os.getpid()}
