#!/usr/bin/env python3
"""How long /db-doctor's script takes on a project of N Python files (default 500): the
samples of tests/doctor_corpus, copied until there are N files, each run of the doctor a
new process as the command runs it. Reported, never asserted.

    python scripts/bench_doctor.py [--files 500] [--runs 5] [--python python3]
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCTOR = ROOT / "skills" / "async-db-layer" / "scripts" / "db_doctor.py"
sys.path.insert(0, str(ROOT / "tests"))


def build(dest: Path, files: int) -> int:
    from test_doctor import materialize

    samples = sorted((ROOT / "tests" / "doctor_corpus").glob("*/*.txt"))
    for index, sample in zip(itertools.count(), itertools.cycle(samples)):
        materialize(sample, dest / f"part{index}")
        if len(list(dest.rglob("*.py"))) >= files:
            return len(list(dest.rglob("*.py")))
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=500)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--python", default=sys.executable)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="doctor-bench-") as tmp:
        count = build(Path(tmp), args.files)
        times, findings = [], 0
        for _ in range(args.runs):
            start = time.perf_counter()
            done = subprocess.run([args.python, str(DOCTOR), tmp], capture_output=True, text=True)
            times.append(time.perf_counter() - start)
            findings = len(done.stdout.splitlines())
        print(
            f"{count} Python files: median {statistics.median(times):.2f} s, "
            f"max {max(times):.2f} s over {args.runs} runs; {findings} findings"
        )


if __name__ == "__main__":
    main()
