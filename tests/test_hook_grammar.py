"""The hook (hooks/bash_guard.py) on command lines nobody wrote down: thousands generated
from the grammar in hook_grammar.py (wrappers at any depth x SQL and code sources x cores),
its held-out part reported apart from the part the hook was developed against; and command
lines of the shapes public FastAPI projects run (hook_corpus/real_projects.json), which the
hook was never tuned on."""

from __future__ import annotations

import json
import os
from pathlib import Path

import hook_grammar as grammar
import pytest
from conftest import ROOT, load_script

guard = load_script(ROOT / "hooks" / "bash_guard.py", "bash_guard_grammar")
COUNT = int(os.environ.get("HOOK_GRAMMAR_CASES", "5000"))
SEED = int(os.environ.get("HOOK_GRAMMAR_SEED", "0"))
REAL = json.loads((ROOT / "tests" / "hook_corpus" / "real_projects.json").read_text())


@pytest.mark.parametrize("part", ["TUNED", "HELD_OUT"])
def test_every_generated_command_gets_its_decision(part: str, tmp_path: Path) -> None:
    cases = grammar.generate(getattr(grammar, part), COUNT, seed=SEED)
    scores = grammar.score(cases, guard.judge, grammar.Projects(tmp_path))
    print(f"\n{part} (seed {SEED}, {COUNT} cases)\n" + grammar.table({part: scores}))
    every = scores["all"]
    assert every.dangerous > COUNT // 3 and every.harmless > COUNT // 3
    assert every.misses == [], every.misses[:10]


def test_the_grammar_reaches_every_wrapper_source_and_core() -> None:
    """Each part's every wrapper wraps something and every core appears bare: a part that
    generated only a few shapes would prove little."""
    for part in (grammar.TUNED, grammar.HELD_OUT):
        cases = grammar.generate(part, COUNT, seed=SEED)
        used = {w for case in cases for w in case.wrappers}
        assert used == set(part.wrappers)
        assert sum(not case.wrappers for case in cases) == len(grammar.cores(part))
        assert max(len(case.wrappers) for case in cases) == 3


def test_the_parts_share_no_wrapper_source_or_core() -> None:
    tuned, held_out = grammar.TUNED, grammar.HELD_OUT
    assert not set(tuned.wrappers) & set(held_out.wrappers)
    assert not set(tuned.sources) & set(held_out.sources)
    assert not set(tuned.py_sources) & set(held_out.py_sources)
    assert not set(tuned.sql_ask + tuned.sql_pass) & set(held_out.sql_ask + held_out.sql_pass)
    assert not set(tuned.commands_ask) & set(held_out.commands_ask)


@pytest.mark.parametrize("command", sorted(REAL["ask"]))
def test_real_project_commands_that_lose_data_ask(command: str, tmp_path: Path) -> None:
    reason = guard.judge(command, tmp_path)
    assert reason and REAL["ask"][command] in reason, reason


@pytest.mark.parametrize("command", REAL["pass"])
def test_real_project_commands_pass(command: str, tmp_path: Path) -> None:
    assert guard.judge(command, tmp_path) is None
