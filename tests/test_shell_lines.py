"""The validator's `bang-not-allowed` against the real CLI: over `!` lines generated from a
grammar (read-only programs, writing options, redirections, nested commands, programs that
are not read-only, joined by pipes and lists, under several allowed-tools), each line is put
to the pinned CLI offline (survey/probe.py: it refuses the line, or asks a hook that denies
it, so nothing runs). Whatever the rule says Claude Code refuses, Claude Code refuses.
"""

from __future__ import annotations

import os
import random
from concurrent.futures import ThreadPoolExecutor

import pytest
from survey.probe import ask
from validate.rules.frontmatter import split_tools
from validate.shell_lines import refusal

READ_ONLY = [
    "ls",
    "ls -la sub",
    "cat README.md",
    "head -3 a.py",
    "tail -n 2 README.md",
    "wc -l a.py",
    "grep -n x a.py",
    "grep -rl hi .",
    "find . -name '*.py'",
    "find sub -type f",
    "sort README.md",
    "echo hi",
    'echo "$HOME"',
    "printf '%s\\n' a",
    "pwd",
    "date",
    "git status --short",
    "git log --oneline -3",
    "git diff --stat",
    "git branch --show-current",
    "git rev-parse HEAD",
    "sed -n 1p README.md",
    "cut -c1-3 README.md",
    "tr a b < README.md",
    "which git",
    "uname -s",
    "du -sh sub",
    "stat a.py",
    "diff a.py README.md",
    "basename a.py",
    "cat a.py 2>/dev/null",
    "ls *.py",
    "test -f a.py",
    "cd sub",
    "cd -",
]
WRITING = [
    "find . -name '*.tmp' -delete",
    "find . -name '*.py' -exec cat {} \\;",
    "sed -i s/x/y/ a.py",
    "sort -o sorted.txt README.md",
    "echo hi > out.txt",
    "cat a.py >> log.txt",
    "ls > list.txt",
    "git add a.py",
    "git commit -qm x --allow-empty",
    "git checkout -qb topic",
    "echo $(pwd)",
    "ls $(git rev-parse --show-toplevel)",
    "ls .. ",
]
NOT_READ_ONLY = [
    "touch new.txt",
    "mkdir -p build",
    "rm -f a.py",
    "cp a.py b.py",
    "mv README.md R.md",
    "python3 -c 'print(1)'",
    "bash -c 'echo hi'",
    "sh -c true",
    "pip --disable-pip-version-check list",
    "env",
    "chmod +x a.py",
    "tee copy.txt < a.py",
    "uniq README.md",
]
UNSURE = [
    "ls -la ~/.claude",
    "cat /etc/hostname",
    "FOO=1 ls",
    "python3 --version",
    "node --version",
    "git stash list",
    "FOO=1 ls sub",
    "cat ${CLAUDE_PLUGIN_ROOT}/.claude-plugin/plugin.json",
    "ls ${CLAUDE_PLUGIN_ROOT}",
    "bash ${CLAUDE_PLUGIN_ROOT}/run.sh",
    "ls $HOME",
    'echo "$USER"',
    "fd x /etc",
    "du -sh /etc",
    "cat sub/../a.py",
    "basename /etc/hostname",
    "grep x /etc/hostname",
    "dotenvx --version",
    'echo "at ${CLAUDE_PLUGIN_ROOT}/x"',
    'echo "${ARGUMENTS:-.}"',
    "cd /tmp",
    "cd ~",
    "cd ..",
    "cd",
    'cd "$HOME"',
    "cd sub/../..",
    "cd sub && git status",
    "pushd sub",
]
JOINS = [" && ", " | ", " || ", "; "]


def generate(rng: random.Random) -> tuple[str, str, str]:
    """One (line, allowed-tools, kind): 1-3 parts from the lists above, joined, sometimes
    grouped, under one of five allowed-tools."""
    pool = rng.choice([READ_ONLY, READ_ONLY, WRITING, NOT_READ_ONLY, UNSURE])
    parts = [rng.choice(pool)] + [
        rng.choice(rng.choice([READ_ONLY, WRITING, NOT_READ_ONLY, UNSURE]))
        for _ in range(rng.choice([0, 0, 1, 2]))
    ]
    rng.shuffle(parts)
    line = parts[0]
    for part in parts[1:]:
        line += rng.choice(JOINS) + part
    if rng.random() < 0.1:
        line = rng.choice(["{ %s; }", "(%s)"]) % line
    program = next(w for w in rng.choice(parts).split() if "=" not in w)
    allowed = rng.choice(
        ["", "", "Bash(git status:*)", f"Bash({program}:*)", "Read, Grep", "Bash(git *)"]
    )
    return line, allowed, rng.choice(["command", "skill"])


# Lines as the pinned CLI treated them (ran: run without asking; refused: the prompt stops),
# each class seen in the survey's corpus or the generated runs; checked in process, and put
# to the CLI again by the last test.
KNOWN = [
    ("find . -name '*.md' -not -path './node_modules/*' | head -20", "", "ran"),
    ("ls -la sub 2>/dev/null || echo none", "", "ran"),
    ("git status --short", "", "ran"),
    ("git remote -v", "", "ran"),
    ("git remote get-url origin", "", "refused"),
    ('echo "$HOME"', "", "ran"),
    ("python3 --version", "", "ran"),
    ("touch made.txt", "Bash(touch:*)", "ran"),
    ("FOO=1 ls", "Bash(FOO=1:*)", "ran"),
    ("touch made.txt", "", "refused"),
    ("touch made.txt", "Bash(git status:*)", "refused"),
    ("find . -name '*.py' -exec cat {} \\;", "", "refused"),
    ("find . -name '*.tmp' -delete", "Bash(find:*)", "refused"),
    ("sed -i s/a/b/ README.md", "", "refused"),
    ("echo x > out.txt", "", "refused"),
    ("ls > list.txt", "Bash(ls:*)", "refused"),
    ("echo $(pwd)", "", "refused"),
    ("{ cat README.md; }", "", "refused"),
    ("uniq README.md", "", "refused"),
    ("ls -la ~/.claude", "Bash(ls:*)", "refused"),
    ("cat ${CLAUDE_PLUGIN_ROOT}/.claude-plugin/plugin.json", "", "refused"),
    ("ls $HOME", "", "refused"),
    ("FOO=1 ls", "", "refused"),
    ("pip list", "", "refused"),
    ("env", "", "refused"),
    ("fd -t d -d 1 . /etc --exclude .git", "Bash(fd *)", "ran"),
    ("du -sh /etc", "", "ran"),
    ("echo /etc/hostname", "", "ran"),
    ('echo "$USER"', "", "refused"),
    ('echo "$1"', "Task", "refused"),
    ("grep x /etc/hostname", "", "refused"),
    ("cat sub/../a.py", "", "refused"),
    ("cat /etc/hostname", "Bash(cat /etc/hostname)", "refused"),
    ('wc -l $ARGUMENTS 2>/dev/null || echo "none"', "Bash(wc:*)", "ran"),
    ("wc -l < ~/.claude/audit.jsonl 2>/dev/null || echo 0", "Bash(wc:*)", "refused"),
    ("wc -l < a.py", "", "ran"),
    ('test -f "${CLAUDE_PLUGIN_ROOT}/x.js" || echo "not at ${CLAUDE_PLUGIN_ROOT}/x.js"', "", "ran"),
    ('cd /Users/x/y && bun run query -- "SELECT 1"', "Bash(cd:*), Bash(bun:*)", "refused"),
    ('cd sub && bun run query -- "SELECT 1"', "Bash(cd:*), Bash(bun:*)", "ran"),
    ("cd /tmp && ls", "Bash(cd:*), Bash(ls:*)", "refused"),
    ("cd sub && ls", "Bash(ls:*)", "ran"),
    ("cd ./sub && ls", "Bash(cd:*), Bash(ls:*)", "ran"),
    ("cd - && ls", "Bash(cd:*), Bash(ls:*)", "ran"),
    ("cd && ls", "Bash(cd:*), Bash(ls:*)", "refused"),
    ("cd ~ && ls", "Bash(cd:*), Bash(ls:*)", "refused"),
    ('cd "$HOME" && ls', "Bash(cd:*), Bash(ls:*)", "refused"),
    ("cd ${CLAUDE_PLUGIN_ROOT} && ls", "Bash(cd:*), Bash(ls:*)", "refused"),
    ("cd sub/../.. && ls", "Bash(cd:*), Bash(ls:*)", "refused"),
    ("cd .. && ls", "Bash(cd:*), Bash(ls:*)", "refused"),
    ("cd /dev/null", "Bash(cd:*)", "refused"),
    ("cd sub || cd sub", "", "refused"),
    ("cd sub && cd sub", "Bash(cd sub && cd sub)", "refused"),
    ("cd sub && ls | git status", "", "refused"),
    ("git status && cd sub", "", "refused"),
    ("cd sub && git log --oneline -1", "Bash(cd:*), Bash(git:*)", "refused"),
    ("pushd sub && git status", "", "refused"),
    ("cd sub && git status", "Bash", "ran"),
    ("ls && cd sub", "", "ran"),
]


@pytest.mark.parametrize(("line", "allowed", "cli"), KNOWN)
def test_known_lines(line: str, allowed: str, cli: str) -> None:
    said = refusal(line, split_tools(allowed))
    assert (said is not None) == (cli == "refused"), said


def test_what_the_rule_refuses_the_cli_refuses(claude: str) -> None:
    seed = int(os.environ.get("SHELL_LINES_SEED") or random.SystemRandom().randrange(10**6))
    size = int(os.environ.get("SHELL_LINES_SIZE") or 64)
    rng = random.Random(seed)
    cases = list({generate(rng) for _ in range(size)})
    with ThreadPoolExecutor(8) as pool:
        verdicts = list(pool.map(lambda c: ask(claude, *c), cases))
    rows = []
    for (line, allowed, kind), verdict in zip(cases, verdicts, strict=True):
        said = refusal(line, split_tools(allowed)) is not None
        rows.append((said, verdict == "refused", line, allowed, kind))
    flagged = [r for r in rows if r[0]]
    wrong = [r[2:] for r in flagged if not r[1]]
    refused = [r for r in rows if r[1]]
    missed = [r[2:] for r in refused if not r[0]]
    report = (
        f"seed {seed}: {len(rows)} lines, CLI refused {len(refused)}, rule flagged "
        f"{len(flagged)}, wrongly {len(wrong)} {wrong}; missed {len(missed)} {missed}"
    )
    print(report)
    assert len(flagged) >= len(rows) // 5 and len(rows) - len(refused) >= len(rows) // 5, report
    assert not wrong, report
    assert len(missed) <= len(refused) // 3, report  # recall: the unsure cases are left alone


def test_the_known_lines_are_what_the_cli_does(claude: str) -> None:
    with ThreadPoolExecutor(8) as pool:
        verdicts = list(pool.map(lambda k: ask(claude, k[0], k[1]), KNOWN))
    differ = [(k, v) for k, v in zip(KNOWN, verdicts, strict=True) if k[2] != v]
    assert not differ, differ
