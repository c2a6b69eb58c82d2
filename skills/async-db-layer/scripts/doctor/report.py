"""The command line: run every rule, print one line per finding, exit 0, 1 or 2."""

from __future__ import annotations

import sys
from pathlib import Path

from .project import Project
from .registry import RULES


def run(root: Path) -> tuple[list[str], Project]:
    project = Project(root)
    found = set()
    for rule_id, (check, reference) in RULES.items():
        for rel, line, message in check(project):
            found.add((rel, line, f"{rel}:{line}: [{rule_id}] {message} (see {reference})"))
    return [text for _, _, text in sorted(found)], project


def main(argv: list[str]) -> int:
    if "--rules" in argv:
        for rule_id, (_, reference) in RULES.items():
            print(f"{rule_id}\t{reference}")
        return 0
    root = Path(argv[0] if argv else ".")
    if not root.is_dir():
        print(f"db_doctor: {root} is not a folder; give the project's folder", file=sys.stderr)
        return 2
    findings, project = run(root.resolve())
    for note in project.notes:
        print(f"db_doctor: {note}", file=sys.stderr)
    if not project.python and (project.notes or not project.texts):
        what = "no .py file could be read as Python" if project.notes else "no .py file"
        print(f"db_doctor: {root} holds no Python project ({what})", file=sys.stderr)
        return 2
    for line in findings:
        print(line)
    if project.unreadable:
        for line in project.unreadable:
            print(f"db_doctor: {line}; fix its permissions and run again", file=sys.stderr)
        return 2
    print(
        f"db_doctor: {len(findings)} finding(s) in {len(project.python)} Python files",
        file=sys.stderr,
    )
    return 1 if findings else 0
