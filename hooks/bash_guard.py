#!/usr/bin/env python3
"""PreToolUse hook for Bash: make Claude Code ask the user before a command that can lose
data in a database. Everything else passes untouched.

Asks for: `alembic downgrade` (any target), `alembic stamp`, `alembic upgrade` while a
revision not yet committed to git drops data (the migration guard's own check, read from
references/migrations.md), DROP / TRUNCATE / DELETE without WHERE / ALTER ... DROP through
psql, mysql, mariadb, sqlite3 or `python -c`, `metadata.drop_all`, removing files under a
migrations `versions/` folder, and `dropdb`.

Standard library only; runs on the user's python3 (3.8+). It never blocks on its own
failure: bad input passes through with a note on stderr.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import sys
from pathlib import Path

PLUGIN_ROOT = Path(os.environ.get("CLAUDE_PLUGIN_ROOT") or Path(__file__).resolve().parent.parent)
GUARDS = PLUGIN_ROOT / "references" / "migrations.md"
MAX_COMMAND = 100_000
# a quick look first: a command without any of these words cannot lose data here
SUSPECT = re.compile(
    r"alembic|psql|mysql|mariadb|sqlite3|python|dropdb|drop_all|versions|DROP|TRUNCATE|DELETE",
    re.IGNORECASE,
)
SQL_CLIENTS = {"psql", "mysql", "mariadb", "sqlite3"}
PYTHONS = re.compile(r"^python(3(\.\d+)?)?$")
ALEMBIC_VALUE_OPTIONS = {"-c", "--config", "-n", "--name", "-x"}
EXTRA_SQL = re.compile(r"\bDROP\s+(DATABASE|INDEX|VIEW|TYPE)\b", re.IGNORECASE)


def main() -> int:
    try:
        payload = json.loads(sys.stdin.read() or "null")
    except ValueError as exc:
        return note(f"input is not JSON ({exc}); passing")
    if not isinstance(payload, dict) or payload.get("tool_name") != "Bash":
        return 0
    command = (payload.get("tool_input") or {}).get("command")
    if not isinstance(command, str):
        return note("no command in tool_input; passing")
    if len(command) > MAX_COMMAND:
        return note(f"a command of {len(command)} characters is not read; passing")
    try:
        reason = judge(command, Path(payload.get("cwd") or os.getcwd()))
    except Exception as exc:  # a hook that fails must not block the user's work
        return note(f"{type(exc).__name__}: {exc}; passing")
    if reason:
        decision = {"hookEventName": "PreToolUse", "permissionDecision": "ask"}
        decision["permissionDecisionReason"] = f"fastapi-async-db: {reason}"
        print(json.dumps({"hookSpecificOutput": decision}))
    return 0


def note(message: str) -> int:
    print(f"fastapi-async-db bash guard: {message}", file=sys.stderr)
    return 0


def judge(command: str, cwd: Path) -> str | None:
    """Why this command may lose data, or None."""
    if not SUSPECT.search(command):
        return None
    for words in segments(command):
        reason = judge_words(words, command, cwd)
        if reason:
            return reason
    if re.search(r"\bdrop_all\b", command):
        return f"`{short(command)}` calls metadata.drop_all: every table it knows is dropped"
    return None


def segments(command: str) -> list[list[str]]:
    """The simple commands of a command line (split at ; && || | and newlines), each as
    its words with leading VAR=value, `uv run`, `poetry run` and `python -m` taken off."""
    lexer = shlex.shlex(command, posix=True, punctuation_chars=";&|")
    lexer.whitespace = " \t\r"
    lexer.whitespace_split = True
    try:
        tokens = list(lexer)
    except ValueError:  # an unclosed quote: read it as plain words
        tokens = command.replace("\n", " ; ").split()
    found, current = [], []
    for token in [*tokens, ";"]:
        if token in {";", "&&", "||", "|", "&", "\n"} or set(token) <= set(";&|\n"):
            if current:
                found.append(simplify(current))
            current = []
        else:
            current.append(token)
    return [words for words in found if words]


def simplify(words: list[str]) -> list[str]:
    while words and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", words[0]):
        words = words[1:]
    if words[:1] == ["sudo"]:  # sudo [-u user] [-E] ... command
        words = words[1:]
        while words and words[0].startswith("-"):
            words = words[2:] if words[0] in ("-u", "-g", "-C", "-D") else words[1:]
    if words[:1] in (["exec"], ["time"]):
        words = words[1:]
    if len(words) > 1 and Path(words[0]).name in ("uv", "poetry", "pipenv") and words[1] == "run":
        words = words[2:]
    if len(words) > 2 and PYTHONS.match(Path(words[0]).name) and words[1] == "-m":
        words = words[2:]
    return words


def judge_words(words: list[str], command: str, cwd: Path) -> str | None:
    program = Path(words[0]).name
    if program == "alembic":
        return judge_alembic(words, cwd)
    if program == "dropdb":
        return f"`{short(' '.join(words))}` drops a whole database and every row in it"
    if program in ("rm", "unlink") or words[:2] == ["git", "rm"]:
        return judge_removal(words, cwd)
    if PYTHONS.match(program) and "-c" in words[:-1]:
        code = words[words.index("-c") + 1]
        statement = python_sql(code)
        if statement:
            return f"`{short(' '.join(words))}` runs `{statement}`: rows or columns go for good"
        return None
    if program in SQL_CLIENTS:
        texts = [*words[1:], *command.splitlines()]
        for text in texts:
            statement = destructive_sql(text)
            if statement:
                return (
                    f"`{short(' '.join(words))}` runs `{statement}`: rows or columns are "
                    "deleted for good"
                )
    return None


def judge_alembic(words: list[str], cwd: Path) -> str | None:
    args, skip = [], False
    for word in words[1:]:
        if skip:
            skip = False
        elif word in ALEMBIC_VALUE_OPTIONS:
            skip = True
        elif not word.startswith("-") or re.match(r"^-\d+$", word):  # -1: a relative target
            args.append(word)
    if not args or "--sql" in words:  # offline mode writes SQL and touches no database
        return None
    if args[0] == "downgrade":
        target = args[1] if len(args) > 1 else "?"
        which = (
            f"the last {target[1:]}" if re.match(r"^-\d+$", target) else f"every one above {target}"
        )
        return (
            f"`alembic downgrade {target}` runs downgrade() of {which} revision(s): the tables "
            "and columns they added are dropped with their rows"
        )
    if args[0] == "stamp":
        return (
            "`alembic stamp` rewrites alembic_version without running migrations: later "
            "upgrades or downgrades then skip or repeat steps, which can lose data"
        )
    if args[0] == "upgrade":
        dropping = pending_drops(cwd)
        if dropping:
            return (
                "`alembic upgrade` applies a revision that is not committed yet and drops "
                f"data: {'; '.join(dropping[:3])}"
            )
    return None


def judge_removal(words: list[str], cwd: Path) -> str | None:
    for word in words[1:]:
        if word.startswith("-"):
            continue
        path = (cwd / word).resolve() if not os.path.isabs(word) else Path(word)
        parts = path.parts
        if "versions" in parts:
            folder = Path(*parts[: parts.index("versions")])
            if (folder / "env.py").is_file() or folder.name in ("alembic", "migrations"):
                return (
                    f"`{short(' '.join(words))}` removes migration revisions: the database "
                    "keeps their changes but Alembic loses the way to them and back"
                )
    return None


def destructive_sql(text: str) -> str | None:
    guard = migration_guard()
    for pattern in (guard["DESTRUCTIVE_SQL"], EXTRA_SQL):
        for line in text.splitlines() or [text]:
            match = pattern.search(line.strip().rstrip("\"'"))
            if match:
                return short(line.strip(), 80)
    return None


def python_sql(code: str) -> str | None:
    """Destructive SQL that `python -c` code hands to execute() / exec_driver_sql() (the
    migration guard's reading of op.execute); code that does not parse is read as text."""
    import ast

    guard = migration_guard()
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return destructive_sql(code)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr in (*guard["SQL_CALLS"], "executescript"):
                statement = destructive_sql(guard["sql_text"](node))
                if statement:
                    return statement
    return None


def pending_drops(cwd: Path) -> list[str]:
    """`file:line: op` of data-losing operations in revisions git does not have yet (new or
    changed): those an upgrade is about to apply."""
    guard = migration_guard()
    found = []
    for versions in version_folders(cwd):
        for path in sorted(versions.glob("*.py")):
            if committed(path):
                continue
            found.extend(guard["data_losing_ops"](str(path)))
    return found


def version_folders(cwd: Path) -> list[Path]:
    candidates = [cwd / name / "versions" for name in ("alembic", "migrations")]
    candidates += [p.parent / "versions" for p in cwd.glob("*/*/env.py")]
    candidates += [p.parent / "versions" for p in cwd.glob("*/env.py")]
    seen = []
    for folder in candidates:
        if folder.is_dir() and folder.resolve() not in seen:
            seen.append(folder.resolve())
    return seen


def committed(path: Path) -> bool:
    import subprocess

    try:
        done = subprocess.run(
            ["git", "status", "--porcelain", "--", path.name],
            cwd=path.parent,
            capture_output=True,
            text=True,
            timeout=5,
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0 and not done.stdout.strip()


_GUARD: dict = {}


def migration_guard() -> dict:
    """DESTRUCTIVE_SQL and data_losing_ops, from the migration guard the plugin teaches
    (references/migrations.md, block file=migrations/guards.py): one source for both."""
    if _GUARD:
        return _GUARD
    import ast  # only here and in python_sql: the common path does without it

    text = GUARDS.read_text(encoding="utf-8")
    start = text.index("```python file=migrations/guards.py")
    body = text[text.index("\n", start) + 1 : text.index("\n```", start)]
    wanted = {"DATA_LOSING_OPS", "SQL_CALLS", "KEPT", "DESTRUCTIVE_SQL"}
    wanted_functions = {"sql_text", "calls_in", "data_losing_ops"}
    kept = []
    for node in ast.parse(body).body:
        if isinstance(node, ast.Import) or (
            isinstance(node, ast.ImportFrom) and node.module in ("pathlib", "re", "ast")
        ):
            kept.append(node)
        elif isinstance(node, ast.Assign) and {getattr(t, "id", "") for t in node.targets} & wanted:
            kept.append(node)
        elif isinstance(node, ast.FunctionDef) and node.name in wanted_functions:
            kept.append(node)
    module = ast.Module(body=kept, type_ignores=[])
    exec(compile(module, str(GUARDS), "exec"), _GUARD)  # noqa: S102 - the plugin's own code
    return _GUARD


def short(text: str, limit: int = 120) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


if __name__ == "__main__":
    sys.exit(main())
