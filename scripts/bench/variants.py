"""The variants measured: the raw asyncpg floor and the apps the plugin teaches, each written
into a folder from the references (by `snippets.materialize`) or from scripts/bench_apps/."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import snippets

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ROOT / "skills" / "async-db-layer" / "scripts"
APPS = ROOT / "scripts" / "bench_apps"
ENDPOINTS = ("get", "list", "post")


@dataclass
class Variant:
    name: str
    prepare: Callable[[Path], str]  # writes the project into a folder; returns the ASGI app path
    paths: dict[str, str]  # get, list: paths; post: path
    body: Callable[[int], dict]  # the POST body for the n-th row
    floor: bool = False
    env: dict[str, str] = field(default_factory=dict)
    create_tables: str = ""  # Python run in the project once it is written


SQLMODEL_TABLES = """
import asyncio, app.models
from app.database import create_db_and_tables
asyncio.run(create_db_and_tables())
"""
ORM_TABLES = """
import asyncio
from app.database import engine
from app.models import Base

async def create():
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    await engine.dispose()

asyncio.run(create())
"""


def prepare_floor(folder: Path) -> str:
    (folder / "raw_asyncpg.py").write_text((APPS / "raw_asyncpg.py").read_text())
    return "raw_asyncpg:app"


def prepare_layer(folder: Path) -> str:
    done = subprocess.run(
        [sys.executable, str(PRODUCT / "scaffold_db.py"), "postgres"]
        + ["--project", str(folder), "--package", "benchdb", "--no-migrations"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr)
    (folder / "layer_app.py").write_text((APPS / "layer_app.py").read_text())
    return "layer_app:app"


def prepare_document(rel: str) -> Callable[[Path], str]:
    def prepare(folder: Path) -> str:
        doc = snippets.parse_document(ROOT / rel)
        snippets.materialize(doc, "postgres", folder.resolve())
        return "app.main:app"

    return prepare


def item(n: int) -> dict:
    return {"name": f"item-{n}"}


def user(n: int) -> dict:
    return {"email": f"user{n}@example.com", "name": f"User {n}", "password": "a long passphrase"}


def sqlmodel_user(n: int) -> dict:
    return {"email": f"user{n}@example.com", "full_name": f"User {n}", "password": "a passphrase!"}


VARIANTS = [
    Variant(
        "raw asyncpg pool (floor)",
        prepare_floor,
        {"get": "/items/{id}", "list": "/items?limit=20", "post": "/items"},
        item,
        floor=True,
    ),
    Variant(
        "db/ layer (scaffold)",
        prepare_layer,
        {"get": "/items/{id}", "list": "/items?limit=20", "post": "/items"},
        item,
    ),
    Variant(
        "async-sqlalchemy fastapi-app.md",
        prepare_document("skills/async-sqlalchemy/references/fastapi-app.md"),
        {"get": "/users/{id}", "list": "/users?limit=20", "post": "/users"},
        user,
        create_tables=ORM_TABLES,
    ),
    Variant(
        "async-sqlmodel ServiceBase app",
        prepare_document("skills/async-sqlmodel/references/fastapi-integration.md"),
        {"get": "/users/{id}", "list": "/users?limit=20", "post": "/users"},
        sqlmodel_user,
        create_tables=SQLMODEL_TABLES,
    ),
]
