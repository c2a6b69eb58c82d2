#!/usr/bin/env python3
"""PreToolUse and PreSkillShellCommand hook for Bash: make Claude Code ask the user before a
command that can lose data in a database, whether Claude calls the Bash tool or a skill or
command of any plugin runs a shell line (`!`...``) as its prompt is expanded. Everything
else passes untouched. (On PreSkillShellCommand "ask" keeps the line from running.)

The command is read as the shell reads it (shellguard/shell.py): quotes, ; && || pipes,
subshells, $( ) and heredocs; wrappers are taken off down to what really runs (env,
sudo, timeout, nice, uv/poetry/pdm/hatch run, python -m, bash -c, docker and compose
exec/run, kubectl exec, ssh, xargs, make/just/npm targets whose recipes it reads); SQL is
read wherever it comes from (-c, -e, -f, <, pipes from cat/echo/printf, heredocs,
here-strings, \\i / source / .read includes) and Python from -c, stdin, a script or a module.

It asks for: alembic downgrade and stamp; alembic upgrade while a revision git does not have
yet drops data (its configuration resolved from -c, $ALEMBIC_CONFIG, `cd X &&`); SQL that
drops a table, schema or database, TRUNCATE, DELETE or UPDATE without WHERE, ALTER TABLE ...
DROP COLUMN; Python calling drop_all, Table.drop, such SQL, or delete()/update() without
where(); dropdb, mysqladmin drop, pg_restore --clean and reset tools (supabase db reset,
prisma migrate reset, ...); removing revisions, SQLite files or database data folders
(rm, find -delete, git rm, git clean); deleting Docker volumes (compose down -v, volume rm)
and Kubernetes persistent volumes.

Standard library only; runs on the user's python3 (3.8+). It never blocks on its own
failure: bad input passes through with a note on stderr.
"""

from __future__ import annotations

import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
MAX_COMMAND = 100_000
# a quick look first: a command with none of these words cannot lose data here
SUSPECT = re.compile(
    r"alembic|psql|pgcli|mysql|maria|sqlite|duckdb|python|py\b|pypy|drop|truncate|delete|"
    r"update|rm\b|unlink|shred|trash|find|git|docker|podman|nerdctl|compose|kubectl|\boc\b|"
    r"make|just|npm|pnpm|yarn|bun|supabase|prisma|dbmate|sqlx|atlas|yoyo|aerich|goose|flyway|"
    r"piccolo|pg_restore|pg_dropcluster|sh\b|source|eval|ssh|\.\s|\$\(|`|<",
    re.IGNORECASE,
)


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
        reason = judge(command, payload.get("cwd") or os.getcwd())
    except Exception as exc:  # a hook that fails must not block the user's work
        return note(f"{type(exc).__name__}: {exc}; passing")
    if reason:
        event = payload.get("hook_event_name")
        event = event if event in ("PreToolUse", "PreSkillShellCommand") else "PreToolUse"
        decision = {"hookEventName": event, "permissionDecision": "ask"}
        decision["permissionDecisionReason"] = f"fastapi-async-db: {reason}"
        print(json.dumps({"hookSpecificOutput": decision}))
    return 0


def note(message: str) -> int:
    print(f"fastapi-async-db bash guard: {message}", file=sys.stderr)
    return 0


def judge(command: str, cwd) -> str | None:
    """Why this command may lose data, or None."""
    if not SUSPECT.search(command):
        return None
    from pathlib import Path  # loaded only for a command worth reading

    from shellguard import judge as read

    return read(command, Path(cwd))


if __name__ == "__main__":
    sys.exit(main())
