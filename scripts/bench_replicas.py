"""Read replicas under load: stale reads, where reads go, round trips and read latency.

    python scripts/bench_replicas.py [--clients N] [--seconds S] [--sticky S] [--json FILE]

Scaffolds the layer with --replicas into a temporary project and runs
scripts/bench_apps/replica_load.py in it once per routing: the position carried (the layer as
taught), "sticky for N seconds" after a write (the comparison), and no replica (every read on
the primary). Each run has the same clients and the same seeded pauses of the replica's
replay. Needs TEST_POSTGRES_URL and TEST_REPLICA_URL (scripts/servers.sh writes them); it
pauses that replica's replay, so scripts/bench.sh runs it on servers of its own.

Counts are what the run saw; latencies are reported, never asserted (tests/test_replicas.py
asserts the counts of a short run on a pair of its own).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCAFFOLD = ROOT / "skills" / "async-db-layer" / "scripts" / "scaffold_db.py"
LOAD = Path(__file__).resolve().parent / "bench_apps" / "replica_load.py"
MODES = ("position", "sticky", "primary")
COLUMNS = (
    ("stale", "stale reads"),
    ("reads of one's own write", "own-write reads"),
    ("replica share", "on the replica"),
    ("round trips per read", "round trips per read"),
    ("round trips of a write", "round trips per write"),
    ("read p50 ms", "read p50 ms"),
    ("read p99 ms", "read p99 ms"),
)


def scaffold(folder: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(SCAFFOLD), "postgres", "--replicas", "--no-migrations"]
        + ["--no-resolve", "--project", str(folder)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr)


def run_mode(project: Path, mode: str, env: dict[str, str]) -> dict:
    ran = subprocess.run(
        [sys.executable, str(LOAD)],
        cwd=project,
        env=os.environ | env | {"MODE": mode},
        capture_output=True,
        text=True,
        timeout=600,
    )
    if ran.returncode != 0:
        raise RuntimeError(f"{mode}: {ran.stdout}{ran.stderr[-4000:]}")
    result = json.loads(ran.stdout.strip().splitlines()[-1])
    reads = result["reads on the replica"] + result["reads on the primary"]
    result["replica share"] = result["reads on the replica"] / reads if reads else 0.0
    return result


def run(
    primary: str,
    standby: str,
    clients: int = 16,
    seconds: float = 20,
    sticky: float = 2,
    modes: tuple[str, ...] = MODES,
    extra: dict[str, str] | None = None,
) -> dict[str, dict]:
    with tempfile.TemporaryDirectory() as folder:
        project = Path(folder)
        scaffold(project)
        env = {
            "PRIMARY": primary,
            "STANDBY": standby,
            "CLIENTS": str(clients),
            "SECONDS": str(seconds),
            "STICKY": str(sticky),
            "PYTHONPATH": os.pathsep.join([str(project), str(LOAD.parent.parent)]),
            **(extra or {}),
        }
        return {mode: run_mode(project, mode, env) for mode in modes}


def cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def table(results: dict[str, dict], sticky: float) -> str:
    names = {
        "position": "position carried (the layer)",
        "sticky": f"sticky for {sticky:g} s",
        "primary": "no replica",
    }
    lines = [
        "| routing | " + " | ".join(title for _, title in COLUMNS) + " |",
        "| --- |" + " --- |" * len(COLUMNS),
    ]
    for mode, result in results.items():
        row = [cell(result[key]) for key, _ in COLUMNS]
        lines.append(f"| {names[mode]} | " + " | ".join(row) + " |")
    first = next(iter(results.values()))
    lines.append(
        f"\n{first['clients']} clients, {first['seconds']:g} s per routing; pauses of the "
        f"replay: {first['pauses']} (0.5-4 s each, resumed for 0.2-1.5 s); each write read back "
        "3 times within 4 s of it, plus reads by a client that never wrote."
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--sticky", type=float, default=2)
    parser.add_argument("--json", type=Path)
    options = parser.parse_args()
    for name in ("TEST_POSTGRES_URL", "TEST_REPLICA_URL"):
        if name not in os.environ:
            raise SystemExit(f"{name} is not set: start the servers (scripts/servers.sh start)")
    results = run(
        os.environ["TEST_POSTGRES_URL"],
        os.environ["TEST_REPLICA_URL"],
        options.clients,
        options.seconds,
        options.sticky,
    )
    print(table(results, options.sticky))
    if options.json:
        options.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
