"""`python scripts/snippets list [PATH ...]` and `python scripts/snippets format FILE.md ...`."""

from __future__ import annotations

import sys
from pathlib import Path

from .model import planned
from .parse import iter_blocks
from .ruff import format_document

USAGE = (
    "usage: python scripts/snippets list [PATH ...]\n"
    "       python scripts/snippets format FILE.md ...  (imports sorted, ruff format, in place)"
)


def describe(doc, block) -> str:
    if block.error:
        what = "ERROR " + block.error
    elif block.skipped:
        what = f"skip: {block.attrs['skip']}"
    else:
        what = f"{block.kind} on {','.join(planned(doc, block)) or 'no backend'}"
    attrs = " ".join(f"{k}={v}" for k, v in block.attrs.items() if k != "skip")
    return f"{block.where}\t{block.lang or '-'}\t{attrs}\t{what}"


def main(argv: list[str]) -> int:
    if argv[:1] == ["format"] and len(argv) > 1:
        for name in argv[1:]:
            for where in format_document(Path(name)):
                print(f"{where}: formatted")
        return 0
    if argv[:1] != ["list"]:
        print(USAGE, file=sys.stderr)
        return 2
    count = 0
    for doc, block in iter_blocks([Path(p) for p in argv[1:]] or None):
        count += 1
        print(describe(doc, block))
    print(f"{count} blocks")
    return 0
