"""Properties of the layer's settings over generated input: which .env files are read for any
project shape and any working folder, and which variable wins for any mix of DB_*,
DATABASE_URL and the full-stack template's POSTGRES_* names.

The code under test is the reference's own (skills/async-db-layer/references/db-package.md),
scaffolded into a temporary project, not a copy.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

MARKERS = (".git", "uv.lock", "poetry.lock")


@pytest.fixture(scope="module")
def layer(layer_package):
    return layer_package.configuration.settings


# A project: folders from the top down to the package, which folders hold a .env, and where
# the root marker (.git or a lock file) is, if anywhere.
shapes = st.integers(min_value=1, max_value=6).flatmap(
    lambda depth: st.tuples(
        st.just(depth),
        st.sets(st.integers(0, depth), max_size=depth + 1),
        st.one_of(st.none(), st.integers(0, depth)),
        st.sampled_from(MARKERS),
    )
)


def expected_files(chain: list[Path], with_env: set[int], marker: int | None) -> list[Path]:
    """Nearest last; up to the marker's folder, or only the nearest without a marker."""
    upward = list(reversed(range(len(chain))))  # from the package's folder up
    if marker is None:
        nearest = [chain[i] / ".env" for i in upward if i in with_env][:1]
        return nearest
    found = [chain[i] / ".env" for i in upward if i >= marker and i in with_env]
    return list(reversed(found))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(shape=shapes, cwd_level=st.integers(0, 6))
def test_env_files_follow_the_package_not_the_working_folder(layer, shape, cwd_level) -> None:
    depth, with_env, marker, marker_name = shape
    with tempfile.TemporaryDirectory() as top:
        chain = [Path(top).resolve() / "outside"]
        for level in range(depth):
            chain.append(chain[-1] / f"f{level}")
        chain[-1].mkdir(parents=True)
        for i in with_env:
            (chain[i] / ".env").write_text(f"DB_NAME=level{i}\n")
        if marker is not None:
            (chain[marker] / marker_name).mkdir()
        start = chain[-1] / "db" / "configuration" / "env_files.py"
        old = os.getcwd()
        os.chdir(chain[min(cwd_level, depth)])  # wherever the process was started
        try:
            got = list(layer.env_files(start))
        finally:
            os.chdir(old)
        assert got == expected_files(chain, with_env, marker)


NAMES = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=12)
PORTS = st.integers(1, 65535)
PASSWORDS = st.text(
    alphabet=st.characters(codec="utf-8", exclude_characters="\n\r\"'\\#$` \t\x00"),
    min_size=1,
    max_size=20,
).map(lambda text: "secret:" + text)  # ":" is in no other generated value


@settings(max_examples=150, deadline=None)
@given(
    db=st.fixed_dictionaries(
        {},
        optional={"DB_HOST": NAMES, "DB_PORT": PORTS, "DB_USER": NAMES, "DB_PASSWORD": PASSWORDS},
    ),
    pg=st.fixed_dictionaries(
        {},
        optional={
            "POSTGRES_SERVER": NAMES,
            "POSTGRES_PORT": PORTS,
            "POSTGRES_USER": NAMES,
            "POSTGRES_PASSWORD": PASSWORDS,
            "POSTGRES_DB": NAMES,
        },
    ),
    db_type=st.sampled_from([None, "postgres"]),
)
def test_db_variables_win_and_postgres_names_are_read_as_they_are(layer, db, pg, db_type):
    values = {**db, **pg} | ({"DB_TYPE": db_type} if db_type else {})
    text = "".join(f'{k}="{v}"\n' for k, v in values.items())  # quoted, as odd values need
    with tempfile.TemporaryDirectory() as top:
        env = Path(top) / ".env"
        env.write_text(text)
        hidden = {k: os.environ.pop(k) for k in list(os.environ) if k.startswith(("DB_", "POS"))}
        try:
            if db_type is None and "POSTGRES_SERVER" not in pg:
                with pytest.raises(Exception, match="no database chosen"):
                    layer.DatabaseSettings(_env_file=env)
                return
            got = layer.DatabaseSettings(_env_file=env)
        finally:
            os.environ.update(hidden)
    assert got.type == "postgres"
    assert got.host == db.get("DB_HOST", pg.get("POSTGRES_SERVER", "localhost"))
    assert got.port == db.get("DB_PORT", pg.get("POSTGRES_PORT"))
    assert got.user == db.get("DB_USER", pg.get("POSTGRES_USER", "app"))
    assert got.name == pg.get("POSTGRES_DB", "app")
    password = db.get("DB_PASSWORD", pg.get("POSTGRES_PASSWORD", ""))
    assert got.password.get_secret_value() == password
    assert "secret:" not in repr(got) and "secret:" not in str(got.model_dump())
