"""Inputs the db/ layer used to take wrongly (issue 11): in-memory SQLite, libpq parameters in
DATABASE_URL, an explicit driver. Each is translated or named in a DatabaseConfigError that
says what to do; the URL parameters are also checked over generated input."""

from __future__ import annotations

import asyncio
import inspect
import os
import tempfile

import pytest
from conftest import server_url
from hypothesis import given, settings
from hypothesis import strategies as st

EMPTY_ENV = tempfile.mkstemp(prefix="empty-", suffix=".env")[1]  # no .env of anyone's


@pytest.fixture
def env(monkeypatch):
    """A clean environment for the settings: no DB_* or DATABASE_URL of ours, no .env."""
    for key in list(os.environ):
        if key.startswith(("DB_", "DATABASE_URL", "POSTGRES_")):
            monkeypatch.delenv(key)
    monkeypatch.setenv("DB_ENV_FILE", EMPTY_ENV)
    return monkeypatch


def config_error(layer_package, **variables):
    settings_module = layer_package.configuration.settings
    for key, value in variables.items():
        os.environ[key] = value
    try:
        settings_module.load_settings()
        layer_package.core.factory.get_connector(settings_module.load_settings()).connect_args()
    except settings_module.DatabaseConfigError as exc:
        return str(exc)
    finally:
        for key in variables:
            del os.environ[key]
    return None


@pytest.mark.parametrize(
    "variables",
    [
        {"DB_TYPE": "sqlite", "DB_NAME": ":memory:"},
        {"DATABASE_URL": "sqlite+aiosqlite://"},
        {"DATABASE_URL": "sqlite+aiosqlite:///:memory:"},
        {"DATABASE_URL": "sqlite+aiosqlite:///file:db?mode=memory&cache=shared&uri=true"},
    ],
)
def test_in_memory_sqlite_is_refused(layer_package, env, variables) -> None:
    message = config_error(layer_package, **variables)
    assert message and "use a file (DB_NAME=app.db" in message, message


@pytest.mark.parametrize(
    ("url", "named"),
    [
        ("postgresql+psycopg://u:p@db/app", "asks for the driver 'psycopg'"),
        ("postgresql+psycopg2://u:p@db/app", "asks for the driver 'psycopg2'"),
        ("mysql+pymysql://u:p@db/app", "asks for the driver 'pymysql'"),
        ("postgresql://u:p@db/app?channel_binding=require", "channel_binding=require"),
        ("postgresql://u:p@db/app?sslrootcert=/ca.pem", "sslrootcert=/ca.pem"),
        ("postgresql://u:p@db/app?connect_timeout=soon", "connect_timeout=soon"),
    ],
)
def test_urls_that_cannot_work_are_named(layer_package, env, url, named) -> None:
    message = config_error(layer_package, DATABASE_URL=url)
    assert message and named in message, message
    assert "p@" not in message  # the password never shows


# --- every parameter is translated or named, over generated URLs ----------------------------

KNOWN = {
    "sslmode": st.sampled_from(["disable", "prefer", "require"]),
    "connect_timeout": st.integers(1, 60).map(str),
    "application_name": st.text("abcxyz-_", min_size=1, max_size=12),
    "search_path": st.sampled_from(["public", "app,public"]),
    "target_session_attrs": st.sampled_from(["any", "read-write", "primary"]),
    "channel_binding": st.sampled_from(["disable", "prefer", "require"]),
}
OTHER = st.sampled_from(["sslrootcert", "keepalives", "gssencmode", "options", "fallback"])


@settings(max_examples=200, deadline=None)
@given(
    known=st.dictionaries(st.sampled_from(sorted(KNOWN)), st.just(None), max_size=6).flatmap(
        lambda keys: st.fixed_dictionaries({k: KNOWN[k] for k in keys})
    ),
    other=st.dictionaries(OTHER, st.text("abc123", min_size=1, max_size=5), max_size=2),
)
def test_each_url_parameter_is_translated_or_named(layer_package, known, other) -> None:
    from urllib.parse import urlencode

    import asyncpg

    query = {**known, **other}
    url = "postgresql://u:secret@db.example:5432/app" + (f"?{urlencode(query)}" if query else "")
    hidden = {k: os.environ.pop(k) for k in list(os.environ) if k.startswith(("DB_", "DATA"))}
    os.environ.update(DATABASE_URL=url, DB_ENV_FILE=EMPTY_ENV)
    settings_module = layer_package.configuration.settings
    try:
        connector = layer_package.core.factory.get_connector(settings_module.load_settings())
        args = connector.connect_args()
    except settings_module.DatabaseConfigError as exc:
        bad = [k for k in query if f"parameter {k}=" in str(exc)]
        assert bad and (bad[0] in other or query[bad[0]] == "require"), str(exc)
        return
    finally:
        for key in ("DATABASE_URL", "DB_ENV_FILE"):
            del os.environ[key]
        os.environ.update(hidden)
    assert not other and known.get("channel_binding") != "require", (query, args)
    taken = set(inspect.signature(asyncpg.connect).parameters)
    assert set(args) <= taken, set(args) - taken  # nothing asyncpg would refuse
    assert not connector.url().query  # every parameter left the URL
    if "connect_timeout" in known:
        assert args["timeout"] == float(known["connect_timeout"])
    for key in ("application_name", "search_path"):
        if key in known:
            assert args["server_settings"][key] == known[key]


def test_libpq_parameters_reach_the_server(layer_package, env) -> None:
    """A URL as hosts hand it out connects, with its parameters applied."""
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    server = os.environ.get("TEST_POSTGRES_URL")
    if not server:
        server_url("postgres")
    url = make_url(server).set(drivername="postgresql").render_as_string(hide_password=False)
    query = "connect_timeout=10&application_name=issue11&channel_binding=prefer&sslmode=disable"
    env.setenv("DATABASE_URL", f"{url}?{query}")

    async def run() -> str:
        await layer_package.check_database()
        async with layer_package.get_engine().connect() as conn:
            name = await conn.scalar(text("SHOW application_name"))
        await layer_package.dispose_engine()
        return name

    assert asyncio.run(run()) == "issue11"
