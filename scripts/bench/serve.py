"""One variant served by uvicorn on loopback, its database reached through its own relay."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pgwire_proxy
from snippets.database import run_admin
from sqlalchemy.engine import URL

from .proxies import Proxies
from .variants import Variant


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def admin(url: URL, *statements: str) -> None:
    """Statements on the server's `postgres` database (the snippet runner's helper)."""
    run_admin(url.render_as_string(hide_password=False), *statements)


@dataclass
class Served:
    variant: Variant
    proxy: pgwire_proxy.Proxy
    process: subprocess.Popen
    client: httpx.Client
    database: str
    folder: tempfile.TemporaryDirectory
    next_row: int = 0
    an_id: int = 1

    def request(self, endpoint: str) -> httpx.Response:
        path = self.variant.paths[endpoint].replace("{id}", str(self.an_id))
        if endpoint == "post":
            self.next_row += 1
            response = self.client.post(path, json=self.variant.body(self.next_row))
        else:
            response = self.client.get(path)
        if response.status_code >= 400:
            raise RuntimeError(f"{self.variant.name} {endpoint}: {response.status_code}")
        return response

    def round_trips(self, endpoint: str) -> int:
        before = self.proxy.round_trips
        self.request(endpoint)
        return self.proxy.round_trips - before

    def stop(self) -> None:
        self.client.close()
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.folder.cleanup()


def run_in(folder: str, code: str, env: dict[str, str]) -> None:
    subprocess.run([sys.executable, "-c", code], cwd=folder, env=env, check=True, timeout=120)


def start_server(app: str, folder: str, env: dict[str, str]) -> tuple[subprocess.Popen, str]:
    """uvicorn serving `app` from `folder` on a free loopback port; (process, base URL)."""
    port = free_port()
    log = Path(folder) / "server.log"  # a file, not a pipe: a full pipe would stall the server
    with log.open("w") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", app, "--port", str(port), "--log-level", "warning"],
            cwd=folder,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=sink,
        )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(f"{base}/openapi.json", timeout=5)
            return process, base
        except httpx.TransportError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError(f"{app} did not start: {log.read_text()[-3000:]}") from None
            time.sleep(0.1)


def serve(variant: Variant, proxies: Proxies, server: URL, index: int) -> Served:
    folder = tempfile.TemporaryDirectory(prefix="bench-")
    app = variant.prepare(Path(folder.name))
    database = f"bench_{index}_{os.getpid()}"
    admin(
        server,
        f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)',
        f'CREATE DATABASE "{database}"',
    )
    proxy = proxies.new()
    url = server.set(drivername="postgresql+asyncpg", host="127.0.0.1", port=proxy.port)
    url = url.set(database=database).render_as_string(hide_password=False)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DB_", "DATABASE_URL"))}
    env |= {"DATABASE_URL": url, "PYTHONPATH": folder.name} | variant.env
    process, base = start_server(app, folder.name, env)
    client = httpx.Client(base_url=base, timeout=30)
    served = Served(variant, proxy, process, client, database, folder)
    if variant.create_tables:
        run_in(folder.name, variant.create_tables, env)
    first = served.request("post").json()
    served.an_id = first["id"]
    for _ in range(29):
        served.request("post")
    return served
