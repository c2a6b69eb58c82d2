#!/usr/bin/env python3
"""How long the PreToolUse hook (hooks/bash_guard.py) makes Claude Code wait, and how often
it decides right on generated command lines.

Timing: every command of tests/hook_corpus/commands.json and a sample of the grammar's
(tests/hook_grammar.py), each sent as Claude Code sends it (a new `python3 -S` process, as
hooks/hooks.json runs it, the payload on stdin), `--rounds` times, beside the interpreter's
own start (`python3 -S -c pass`). Decisions: `--grammar N` generates N cases of each part,
tuned and held-out, and prints recall and false asks per category. Reported, never asserted
(tests/test_hook_grammar.py asserts the decisions).

    python scripts/bench_hook.py [--rounds 20] [--python python3] [--grammar 5000]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
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


def decisions(count: int, seed: int) -> None:
    import tempfile

    sys.path.insert(0, str(ROOT / "tests"))
    sys.path.insert(0, str(ROOT / "hooks"))
    import bash_guard
    import hook_grammar as grammar

    with tempfile.TemporaryDirectory() as folder:
        projects = grammar.Projects(Path(folder))
        parts = {
            name: grammar.score(grammar.generate(part, count, seed), bash_guard.judge, projects)
            for name, part in (("tuned", grammar.TUNED), ("held-out", grammar.HELD_OUT))
        }
    print(f"decisions on {count} generated cases per part (seed {seed}):")
    print(grammar.table(parts))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--python", default="python3")
    parser.add_argument("--grammar", type=int, default=0, metavar="N")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    corpus = json.loads((ROOT / "tests" / "hook_corpus" / "commands.json").read_text())
    if args.grammar:
        decisions(args.grammar, args.seed)
    sys.path.insert(0, str(ROOT / "tests"))
    import hook_grammar

    sample = [c.command for c in hook_grammar.generate(hook_grammar.HELD_OUT, 400, args.seed)]
    sample = [c for c in sample if "\n" not in c][-100:]
    corpus["pass"] = corpus["pass"] + sample[:50]
    corpus["ask"] = {**corpus["ask"], **dict.fromkeys(sample[50:], "")}
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
