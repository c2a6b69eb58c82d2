"""The command line: validate a plugin, list the rules, or refresh the facts."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from . import facts
from .engine import run
from .rules import RULES


def main(argv: list[str]) -> int:
    if argv[:1] == ["rules"]:
        for rule in RULES.values():
            print(f"{rule.id}\t{rule.summary}" + ("" if rule.default else "\t(opt-in: --all)"))
        return 0
    if argv[:1] == ["facts"]:
        try:
            found = facts.read_cli()
        except (facts.FactsError, OSError) as exc:
            print(f"facts: {exc}", file=sys.stderr)
            return 2
        if "--write" in argv:
            facts.write(found)
        print(json.dumps(found, indent=2))
        return 0
    every = "--all" in argv  # the opt-in rules too
    argv = [a for a in argv if a != "--all"]
    root = Path(argv[0]) if argv else facts.ROOT
    if not root.is_dir():
        print(f"{root}: not a folder; give the plugin's folder", file=sys.stderr)
        return 2
    findings = run(root, every=every)
    for item in findings:
        print(item)
    if findings:
        print(f"{len(findings)} problem(s)", file=sys.stderr)
        return 1
    return 0
