#!/usr/bin/env python3
"""How long the PreToolUse hook (hooks/bash_guard.py) makes Claude Code wait: every
command of tests/hook_corpus/commands.json, each sent as Claude Code sends it (a new
`python3 -S` process, as hooks/hooks.json runs it, the payload on stdin), `--rounds` times.
Reports p50/p99 per kind; reported, never asserted.

    python scripts/bench_hook.py [--rounds 20] [--python python3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOOK = ROOT / "hooks" / "bash_guard.py"


def measure(python: str, command: str) -> float:
    payload = json.dumps({"tool_name": "Bash", "tool_input": {"command": command}, "cwd": "/tmp"})
    start = time.perf_counter()
    subprocess.run(
        [python, "-S", str(HOOK)], input=payload, capture_output=True, text=True, check=True
    )
    return (time.perf_counter() - start) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--python", default="python3")
    args = parser.parse_args()
    corpus = json.loads((ROOT / "tests" / "hook_corpus" / "commands.json").read_text())
    baseline = [
        measure(args.python, "") for _ in range(args.rounds)
    ]  # the interpreter's own start-up: the floor
    for kind, commands in (("pass", corpus["pass"]), ("ask", list(corpus["ask"]))):
        times = sorted(measure(args.python, c) for _ in range(args.rounds) for c in commands)
        p99 = times[int(len(times) * 0.99) - 1]
        print(
            f"{kind}: {len(times)} calls, p50 {statistics.median(times):.1f} ms, "
            f"p99 {p99:.1f} ms, max {times[-1]:.1f} ms"
        )
    print(f"interpreter start-up alone (empty command): p50 {statistics.median(baseline):.1f} ms")


if __name__ == "__main__":
    main()
