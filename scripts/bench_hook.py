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


def percentiles(times: list[float]) -> str:
    times = sorted(times)
    p99 = times[max(int(len(times) * 0.99) - 1, 0)]
    return f"p50 {statistics.median(times):.2f} ms, p99 {p99:.2f} ms, max {times[-1]:.2f} ms"


def in_process(commands: list[str], rounds: int) -> list[float]:
    """The hook's own work: judge() on each command, without the interpreter's start-up."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("bash_guard", HOOK)
    guard = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(guard)
    times = []
    for _ in range(rounds):
        for command in commands:
            start = time.perf_counter()
            guard.judge(command, Path("/tmp"))
            times.append((time.perf_counter() - start) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--python", default="python3")
    args = parser.parse_args()
    corpus = json.loads((ROOT / "tests" / "hook_corpus" / "commands.json").read_text())
    every = corpus["pass"] + list(corpus["ask"])
    floor = []
    for _ in range(args.rounds * 5):
        start = time.perf_counter()
        subprocess.run([args.python, "-S", "-c", "pass"], check=True)
        floor.append((time.perf_counter() - start) * 1000)
    print(f"`{args.python} -S -c pass` alone (the floor): {percentiles(floor)}")
    for kind, commands in (("pass", corpus["pass"]), ("ask", list(corpus["ask"]))):
        times = [measure(args.python, c) for _ in range(args.rounds) for c in commands]
        print(f"hook process, {kind}: {len(times)} calls, {percentiles(times)}")
    print(f"judge() in-process: {percentiles(in_process(every, args.rounds))}")


if __name__ == "__main__":
    main()
