"""The doctor on the shapes of public FastAPI projects (tests/doctor_real/, one file per
project, written here after reading the project, never copied): every finding is judged on
the line it points at. `# doctor: RULE` marks a line where the doctor must report RULE (a
real problem of that project); `# doctor-false: RULE` a line where it reports RULE and we
judged it wrong (kept, so that precision counts it). Anything else it reports fails the
test: every finding has been looked at.

Precision and recall are printed per rule, counted per line and once per (project, rule),
and held to: recall 1.0, precision per (project, rule) at least 0.9."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
from conftest import PRODUCT, ROOT, load_script, materialize

doctor = load_script(PRODUCT / "db_doctor.py", "db_doctor")
PROJECTS = sorted((ROOT / "tests" / "doctor_real").glob("*.txt"))
MARK = re.compile(r"#\s*doctor(-false)?:\s*([\w, -]+?)\s*$")


def judged(project: Path) -> tuple[set, set]:
    """(expected, judged false): sets of (path, line, rule) from the markers."""
    expected, false = set(), set()
    for path in sorted(p for p in project.rglob("*") if p.is_file()):
        rel = path.relative_to(project).as_posix()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            mark = MARK.search(line)
            if mark:
                for rule_id in filter(None, re.split(r"[\s,]+", mark.group(2))):
                    (false if mark.group(1) else expected).add((rel, number, rule_id))
    return expected, false


def found(project: Path) -> set:
    findings, _ = doctor.run(project)
    out = set()
    for text in findings:
        where, rest = text.split(": [", 1)
        rel, line = where.rsplit(":", 1)
        out.add((rel, int(line), rest.split("]", 1)[0]))
    return out


def measure(tmp_path: Path) -> dict:
    results = {}
    for sample in PROJECTS:
        project = materialize(sample, tmp_path / sample.stem)
        expected, false = judged(project)
        results[sample.stem] = (found(project), expected, false)
    return results


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> dict:
    return measure(tmp_path_factory.mktemp("real"))


@pytest.mark.parametrize("name", [p.stem for p in PROJECTS])
def test_every_finding_is_judged_and_every_marked_problem_found(results, name: str) -> None:
    got, expected, false = results[name]
    assert sorted(expected - got) == [], "missed"
    assert sorted(got - expected - false) == [], "reported and not judged"
    assert sorted(false - got) == [], "a line judged false that is no longer reported: unmark it"


def table(results: dict) -> tuple[str, float, float]:
    lines, pairs = Counter(), Counter()
    for got, expected, _ in results.values():
        by_rule: dict[str, list[bool]] = {}
        for rel, line, rule_id in got:
            right = (rel, line, rule_id) in expected
            lines[rule_id, "tp" if right else "fp"] += 1
            by_rule.setdefault(rule_id, []).append(right)
        for _, _, rule_id in expected - got:
            lines[rule_id, "fn"] += 1
        for rule_id, verdicts in by_rule.items():
            pairs[rule_id, "tp" if any(verdicts) else "fp"] += 1
        for rule_id in {r for _, _, r in expected} - set(by_rule):
            pairs[rule_id, "fn"] += 1
    rows = ["rule | lines tp/fp/fn | (project, rule) tp/fp/fn", "--- | --- | ---"]
    for rule_id in sorted({r for r, _ in lines} | {r for r, _ in pairs}):
        cells = [
            f"{c[rule_id, 'tp']}/{c[rule_id, 'fp']}/{c[rule_id, 'fn']}" for c in (lines, pairs)
        ]
        rows.append(f"{rule_id} | {cells[0]} | {cells[1]}")
    tp = sum(v for (_, k), v in pairs.items() if k == "tp")
    fp = sum(v for (_, k), v in pairs.items() if k == "fp")
    fn = sum(v for (_, k), v in pairs.items() if k == "fn")
    return "\n".join(rows), tp / max(tp + fp, 1), tp / max(tp + fn, 1)


def test_precision_and_recall_per_rule(results) -> None:
    text, precision, recall = table(results)
    summary = f"per (project, rule): precision {precision:.2f}, recall {recall:.2f}"
    print(f"\n{len(results)} projects\n{text}\n{summary}")
    assert len(results) >= 8
    assert recall == 1.0
    assert precision >= 0.9
