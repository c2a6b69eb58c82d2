"""The PreToolUse guard's reading of a Bash command: shell.py parses it as the shell does,
evaluate.py walks it (cd, pipes, heredocs, substitutions), wrappers.py takes runners,
shells, containers and task runners off, cores.py judges what is left (sql.py, pycode.py,
files.py, alembic_config.py, tasks.py do the reading for it)."""

from __future__ import annotations

from pathlib import Path

from .evaluate import Context, judge_text


def judge(command: str, cwd: Path) -> str | None:
    """Why `command`, run in `cwd`, may lose data in a database; None when it cannot."""
    return judge_text(command, Context(cwd))
