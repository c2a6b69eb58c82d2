"""Every HTTP app the prompts teach, fuzzed from its own OpenAPI schema with schemathesis, on
SQLite and PostgreSQL: no response is a 5xx, and none carries a secret (a password hash, or a
password the request sent). The apps are served by uvicorn from the code the references hold
(scripts/bench/ writes them out), with a few rows so that ids exist. Bounded: a fixed
number of generated requests per operation.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import bench
import httpx
import pytest
import schemathesis
from bench.serve import run_in, start_server
from conftest import database_url, postgres_admin
from hypothesis import HealthCheck, Phase, given, settings

APPS = [v for v in bench.VARIANTS if v.create_tables]  # the taught HTTP apps
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "50"))  # per operation
SECRETS = ("hashed_password", "scrypt$")


def sent_passwords(case) -> list[str]:
    """The passwords the request sent, as JSON strings, unless another field sent the same."""
    import json

    body = case.body if isinstance(case.body, dict) else {}
    others = json.dumps({k: v for k, v in body.items() if "password" not in k})
    return [
        json.dumps(v)
        for k, v in body.items()
        if "password" in k and isinstance(v, str) and json.dumps(v)[1:-1] not in others
    ]


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
@pytest.mark.parametrize("app", APPS, ids=[a.name for a in APPS])
def test_no_server_error_and_no_secret(tmp_path: Path, app, backend: str) -> None:
    folder = tmp_path / "project"
    folder.mkdir()
    module = app.prepare(folder)
    name = re.sub(r"\W+", "_", f"fuzz_{app.name}_{os.getpid()}")[:60].lower()
    url = database_url(backend, tmp_path, name)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DB_", "DATABASE_URL"))}
    env |= {"DATABASE_URL": url, "PYTHONPATH": str(folder)}
    run_in(str(folder), app.create_tables, env)
    process, base = start_server(module, str(folder), env)
    seen = {"cases": 0, "by_status": {}}
    try:
        for n in range(3):  # rows to find, update and delete
            assert httpx.post(base + app.paths["post"], json=app.body(n)).status_code == 201
        schema = schemathesis.openapi.from_url(f"{base}/openapi.json")
        for result in schema.get_all_operations():
            operation = result.ok()

            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                database=None,
                phases=[Phase.explicit, Phase.generate],  # no shrinking: each step is a request
                suppress_health_check=list(HealthCheck),
            )
            @given(case=operation.as_strategy())
            def fuzz(case) -> None:
                response = case.call(base_url=base, timeout=60)
                seen["cases"] += 1
                status = response.status_code
                seen["by_status"][status] = seen["by_status"].get(status, 0) + 1
                where = f"{case.method} {case.formatted_path} query={case.query} body={case.body!r}"
                assert status < 500, f"{where} -> {status}: {response.text[:300]}"
                leaked = [s for s in (*SECRETS, *sent_passwords(case)) if s in response.text]
                assert not leaked, f"{where} -> {status} shows {leaked}: {response.text[:300]}"

            try:
                fuzz()
            except AssertionError as failure:  # show the server's traceback with the request
                log = (folder / "server.log").read_text()[-3000:]
                raise AssertionError(f"{failure}\n{log}") from failure
    finally:
        process.terminate()
        process.wait(10)
        if backend == "postgres":
            postgres_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    print(f"{app.name} on {backend}: {seen['cases']} requests, by status {seen['by_status']}")
    errors = (folder / "server.log").read_text()
    assert "Traceback" not in errors, errors[-4000:]
    assert seen["cases"] >= EXAMPLES  # the fuzzer really ran
