"""Our validator on one plugin folder, in this process, timed."""

from __future__ import annotations

import time
from pathlib import Path

from validate.engine import run
from validate.model import Finding


def validate(folder: Path) -> tuple[list[Finding], float, str | None]:
    """The findings, the seconds it took, and the error it raised (None when it did not)."""
    started = time.perf_counter()
    try:
        found = run(folder, every=True)  # the opt-in rules measured too, marked in the table
    except Exception as exc:  # counted as a failure of ours, never hidden
        return [], time.perf_counter() - started, f"{type(exc).__name__}: {exc}"
    return found, time.perf_counter() - started, None
