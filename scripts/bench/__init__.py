"""Round trips and latency of the taught database layers, against the raw asyncpg floor.

    python scripts/bench [--requests N] [--json FILE] [--counts-only]

Each variant is served by uvicorn on 127.0.0.1 from the code the plugin teaches (written out
of the references by the same functions the tests use), with its database reached through
its own pgwire_proxy.Proxy on 127.0.0.1. For three endpoints (GET by id, a list of 20, a POST
of one row) it counts the round trips of a warm request, deterministically; then it times
requests on loopback and at an injected 1 ms round trip, all variants interleaved, and gives
each p50 as a ratio to the floor's. Needs TEST_POSTGRES_URL (scripts/servers.sh writes it).

Latencies are reported, never asserted; tests/test_bench.py asserts the round-trip counts.

variants.py  the floor and the taught apps, written into folders
proxies.py   the relays that count round trips and inject delay
serve.py     one variant served by uvicorn behind its relay
measure.py   round trips counted, requests timed
table.py     the Markdown tables
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # pgwire_proxy, snippets

from .measure import run  # noqa: E402
from .table import table  # noqa: E402
from .variants import ENDPOINTS, VARIANTS, Variant  # noqa: E402

__all__ = ["ENDPOINTS", "VARIANTS", "Variant", "main", "run", "table"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=200, help="timed requests per endpoint")
    parser.add_argument("--json", metavar="FILE", help="also write the result as JSON")
    parser.add_argument("--counts-only", action="store_true", help="round trips, no timing")
    args = parser.parse_args(argv)
    if not os.environ.get("TEST_POSTGRES_URL"):
        print("bench: set TEST_POSTGRES_URL (scripts/bench.sh starts a server)", file=sys.stderr)
        return 2
    result = run(args.requests, args.counts_only)
    print(table(result))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0
