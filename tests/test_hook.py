"""hooks/bash_guard.py, the PreToolUse hook: Claude Code is made to ask before every command
of the corpus that can lose data, and every harmless one passes untouched; bad input passes
with a note; the hook runs on the oldest Python users may have."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, find_python, load_script

HOOK = ROOT / "hooks" / "bash_guard.py"
CORPUS = json.loads((ROOT / "tests" / "hook_corpus" / "commands.json").read_text(encoding="utf-8"))


def call(payload, cwd: Path = ROOT, python: str = sys.executable) -> subprocess.CompletedProcess:
    data = payload if isinstance(payload, str) else json.dumps(payload)
    env = {"PATH": "/usr/bin:/bin", "CLAUDE_PLUGIN_ROOT": str(ROOT)}
    return subprocess.run(
        [python, str(HOOK)],
        input=data,
        capture_output=True,
        text=True,
        timeout=30,
        cwd=cwd,
        env=env,
    )


def bash(command: str, cwd: Path = Path("/tmp")) -> dict:
    """The payload Claude Code sends for a Bash tool call."""
    return {
        "session_id": "s",
        "transcript_path": "/tmp/t.jsonl",
        "cwd": str(cwd),
        "hook_event_name": "PreToolUse",
        "tool_name": "Bash",
        "tool_input": {"command": command, "description": "run it"},
    }


def decision(done: subprocess.CompletedProcess) -> dict | None:
    assert done.returncode == 0, done.stderr
    if not done.stdout.strip():
        return None
    output = json.loads(done.stdout)["hookSpecificOutput"]
    assert output["hookEventName"] == "PreToolUse" and output["permissionDecision"] == "ask"
    return output


@pytest.mark.parametrize("command", sorted(CORPUS["ask"]))
def test_asks_before_a_command_that_can_lose_data(command: str) -> None:
    output = decision(call(bash(command)))
    assert output is not None, f"passed: {command!r}"
    assert CORPUS["ask"][command] in output["permissionDecisionReason"], output


@pytest.mark.parametrize("command", CORPUS["pass"])
def test_harmless_commands_pass_untouched(command: str) -> None:
    done = call(bash(command))
    assert (decision(done), done.stderr) == (None, "")


def git(project: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=project, check=True, capture_output=True)


REVISION = """from alembic import op
import sqlalchemy as sa

revision = "{rev}"
down_revision = {down}


def upgrade() -> None:
    {op}


def downgrade() -> None:
    pass
"""


def test_upgrade_asks_while_a_new_revision_drops_data(tmp_path: Path) -> None:
    """The migration guard's own check, on the revisions git does not have yet."""
    versions = tmp_path / "migrations" / "versions"
    versions.mkdir(parents=True)
    (tmp_path / "migrations" / "env.py").write_text("# env\n")
    (tmp_path / "alembic.ini").write_text("[alembic]\nscript_location = %(here)s/migrations\n")
    (versions / "0001_init.py").write_text(
        REVISION.format(rev="0001", down=None, op='op.create_table("t", sa.Column("c", sa.Text))')
    )
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", ".")
    git(tmp_path, "-c", "user.email=a@b", "-c", "user.name=a", "commit", "-qm", "init")
    assert decision(call(bash("alembic upgrade head", tmp_path))) is None
    dropping = versions / "0002_drop.py"
    dropping.write_text(REVISION.format(rev="0002", down='"0001"', op='op.drop_column("t", "c")'))
    output = decision(call(bash("alembic upgrade head", tmp_path)))
    assert output is not None
    assert (
        "/migrations/versions/0002_drop.py:9: op.drop_column('t', 'c')"
        in (output["permissionDecisionReason"])
    ), output
    git(tmp_path, "add", ".")
    git(tmp_path, "-c", "user.email=a@b", "-c", "user.name=a", "commit", "-qm", "drop")
    assert decision(call(bash("alembic upgrade head", tmp_path))) is None  # applied before


@pytest.mark.parametrize(
    ("payload", "note"),
    [
        ("{not json", "input is not JSON"),
        ("", None),
        (json.dumps({"tool_name": "Write", "tool_input": {"file_path": "x"}}), None),
        (json.dumps({"tool_name": "Bash", "tool_input": {}}), "no command"),
        (json.dumps(bash("psql -c 'DROP TABLE t' " + "x" * 200_000)), "is not read"),
        (json.dumps(bash("psql -c 'DROP TABLE \"unclosed")), None),
    ],
    ids=["bad-json", "empty", "other-tool", "no-command", "huge-command", "unclosed-quote"],
)
def test_bad_input_passes_with_a_note(payload: str, note: str | None) -> None:
    done = call(payload)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    if note is None:
        assert done.stderr == ""
    else:
        assert done.stdout == "" and note in done.stderr, (done.stdout, done.stderr)


def test_a_broken_plugin_reference_does_not_block(tmp_path: Path) -> None:
    """The hook reads the migration guard from the plugin; without it, a check that needs
    the guard passes with a note, and everything else is still judged."""
    project = tmp_path / "project"
    (project / "migrations" / "versions").mkdir(parents=True)
    (project / "alembic.ini").write_text("[alembic]\nscript_location = migrations\n")
    (project / "migrations" / "versions" / "0001.py").write_text("def upgrade():\n    pass\n")

    def run(command: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-S", str(HOOK)],
            input=json.dumps(bash(command, project)),
            capture_output=True,
            text=True,
            timeout=30,
            env={"PATH": "/usr/bin:/bin", "CLAUDE_PLUGIN_ROOT": str(tmp_path / "empty")},
        )

    done = run("alembic upgrade head")
    assert done.returncode == 0 and done.stdout == ""
    assert "passing" in done.stderr and "Traceback" not in done.stderr
    assert decision(run("psql -c 'DROP TABLE t'")) is not None


def test_runs_on_the_oldest_python_users_may_have() -> None:
    python = find_python("3.8")
    if python is None:
        pytest.skip("no Python 3.8 here")
    for command in ("alembic downgrade -1", "python -c 'Base.metadata.drop_all(e)'"):
        assert decision(call(bash(command), python=python)) is not None, command
    assert decision(call(bash("alembic upgrade head"), python=python)) is None
    # every module of shellguard, on every command of both corpora: the same answers there
    real = json.loads((ROOT / "tests" / "hook_corpus" / "real_projects.json").read_text("utf-8"))
    commands = sorted(CORPUS["ask"]) + CORPUS["pass"] + sorted(real["ask"]) + real["pass"]
    script = (
        "import json, sys; from pathlib import Path; sys.path.insert(0, sys.argv[1]);"
        "import bash_guard; print(json.dumps([bash_guard.judge(c, Path('/tmp')) is not None"
        " for c in json.load(sys.stdin)]))"
    )
    done = subprocess.run(
        [python, "-S", "-c", script, str(HOOK.parent)],
        input=json.dumps(commands),
        capture_output=True,
        text=True,
        timeout=120,
        cwd="/tmp",
    )
    assert done.returncode == 0, done.stderr
    here = [guard.judge(c, Path("/tmp")) is not None for c in commands]
    assert json.loads(done.stdout) == here
    assert sum(here) == len(CORPUS["ask"]) + len(real["ask"])


def test_hooks_json_runs_this_script() -> None:
    """Exec form (no shell: the plugin's path is one argument whatever it holds), for Bash
    tool calls and for the shell lines of skills and commands."""
    config = json.loads((ROOT / "hooks" / "hooks.json").read_text(encoding="utf-8"))
    assert set(config["hooks"]) == {"PreToolUse", "PreSkillShellCommand"}
    for event in config["hooks"]:
        [entry] = config["hooks"][event]
        assert entry["matcher"] == "Bash"
        assert entry["hooks"] == [
            {
                "type": "command",
                "command": "python3",
                "args": ["-S", "${CLAUDE_PLUGIN_ROOT}/hooks/bash_guard.py"],
                "timeout": 10,
            }
        ]


def test_a_skill_shell_line_is_answered_for_its_own_event() -> None:
    payload = bash("dropdb app") | {"hook_event_name": "PreSkillShellCommand"}
    done = call(payload)
    output = json.loads(done.stdout)["hookSpecificOutput"]
    assert output["hookEventName"] == "PreSkillShellCommand", output
    assert output["permissionDecision"] == "ask" and "dropdb" in output["permissionDecisionReason"]
    assert call(bash("ls -la") | {"hook_event_name": "PreSkillShellCommand"}).stdout == ""


# --- properties over generated commands (in-process: the same judge() the script runs) ---

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

guard = load_script(HOOK, "bash_guard")
NAMES = st.from_regex(r"[a-z_][a-z0-9_]{0,15}", fullmatch=True)
DESTRUCTIVE = st.sampled_from(
    [
        "DROP TABLE {t}",
        "drop table if exists {t}",
        "TRUNCATE {t}",
        "TRUNCATE TABLE {t} CASCADE",
        "DELETE FROM {t}",
        "delete from {t};",
        "ALTER TABLE {t} DROP COLUMN {c}",
        "alter table {t} drop {c}",
        "DROP SCHEMA {t} CASCADE",
        "DROP DATABASE {t}",
    ]
)
HARMLESS = st.sampled_from(
    [
        "SELECT * FROM {t} WHERE {c} = 1",
        "select count(*) from {t}",
        "DELETE FROM {t} WHERE {c} < now()",
        "UPDATE {t} SET {c} = 2 WHERE id = 1",
        "INSERT INTO {t} ({c}) VALUES (1)",
        "CREATE TABLE {t} ({c} int)",
        "ALTER TABLE {t} ADD COLUMN {c} int",
        "ALTER TABLE {t} ALTER COLUMN {c} DROP NOT NULL",
        "ALTER TABLE {t} DROP CONSTRAINT {c}",
        "EXPLAIN ANALYZE SELECT 1 FROM {t}",
    ]
)


def through(client: str, sql: str, quote: str) -> str:
    if client == "sqlite3":
        return f"sqlite3 app.db {quote}{sql}{quote}"
    if client in ("mysql", "mariadb"):
        return f"{client} -u root shop -e {quote}{sql}{quote}"
    if client == "python":
        return f"""python -c "import sqlite3; sqlite3.connect('a.db').execute('{sql}')\""""
    return f'psql "$DATABASE_URL" -c {quote}{sql}{quote}'


CLIENTS = st.sampled_from(["psql", "mysql", "mariadb", "sqlite3", "python"])


@settings(max_examples=300, deadline=None)
@given(
    CLIENTS,
    DESTRUCTIVE,
    NAMES,
    NAMES,
    st.sampled_from(["'", '"']),
    st.sampled_from(["", "cd x && "]),
)
def test_destructive_sql_through_any_client_asks(client, template, table, column, quote, before):
    command = before + through(client, template.format(t=table, c=column), quote)
    assert guard.judge(command, Path("/tmp")), command


@settings(max_examples=300, deadline=None)
@given(CLIENTS, HARMLESS, NAMES, NAMES, st.sampled_from(["'", '"']))
def test_reads_and_filtered_writes_pass(client, template, table, column, quote):
    command = through(client, template.format(t=table, c=column), quote)
    assert guard.judge(command, Path("/tmp")) is None, command


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=400))
def test_any_text_is_judged_without_an_error(command: str) -> None:
    result = guard.judge(command, Path("/tmp"))
    assert result is None or isinstance(result, str)


# --- the shapes issue 18 saw pass, each in a project on disk, through the real process ---


def project_with(tmp_path: Path, files: dict[str, str], untracked: tuple[str, ...] = ()) -> Path:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    git(tmp_path, "init", "-q")
    tracked = [name for name in files if name not in untracked]
    if tracked:
        git(tmp_path, "add", "--", *tracked)
        git(tmp_path, "-c", "user.email=a@b", "-c", "user.name=a", "commit", "-qm", "init")
    return tmp_path


MONOREPO = {
    "backend/alembic.ini": "[alembic]\nscript_location = %(here)s/app/alembic\n",
    "backend/app/alembic/env.py": "# env\n",
    "backend/app/alembic/versions/0001_init.py": REVISION.format(
        rev="0001", down=None, op='op.create_table("t", sa.Column("c", sa.Text))'
    ),
    "backend/app/alembic/versions/0002_drop.py": REVISION.format(
        rev="0002", down='"0001"', op='op.drop_table("t")'
    ),
    "sql/drop.sql": "-- reset\nDROP TABLE IF EXISTS users;\n",
    "sql/seed.sql": "INSERT INTO users (name) VALUES ('a');\n",
    "app.db": "SQLite format 3\0",
    "Makefile": "DC = docker compose\n\nup:\n\t$(DC) up -d\n\nreset: down-volumes up\n\n"
    "down-volumes:\n\t@$(DC) down -v --remove-orphans | true\n\n"
    "migrate:\n\tcd backend && uv run alembic upgrade head\n",
}
NEW = ("backend/app/alembic/versions/0002_drop.py",)


@pytest.mark.parametrize(
    ("command", "fragment"),
    [
        ("timeout 120 alembic downgrade base", "every one above base"),
        ("sh -c 'cd backend && alembic downgrade -1'", "the last 1"),
        ('docker exec -it pg psql -U postgres -c "DROP TABLE users"', "DROP TABLE users"),
        ("psql -f sql/drop.sql", "DROP TABLE IF EXISTS users"),
        ("psql app < sql/drop.sql", "DROP TABLE IF EXISTS users"),
        ("cat sql/drop.sql | docker compose exec -T db psql -U app", "DROP TABLE IF EXISTS"),
        ("psql -c 'DROP DATABASE app'", "DROP DATABASE app"),
        (
            "uv run python - <<'PY'\nimport asyncio\nfrom sqlalchemy import text\n"
            "from app.db import engine\n\nasync def main():\n    async with engine.begin() as c:\n"
            "        await c.execute(text('TRUNCATE users'))\n\nasyncio.run(main())\nPY",
            "TRUNCATE users",
        ),
        ("cd backend && alembic upgrade head", "0002_drop.py:9: op.drop_table('t')"),
        ("alembic -c backend/alembic.ini upgrade head", "0002_drop.py"),
        ("uv run --directory backend alembic upgrade head", "0002_drop.py"),
        ("make migrate", "0002_drop.py"),
        ("git clean -fdx", "removes migration revisions"),
        ("make reset", "deletes the project's volumes"),
        ("docker compose down -v", "deletes the project's volumes"),
        ("rm app.db", "SQLite database app.db"),
        ("supabase db reset", "every row is lost"),
        ("psql -c 'UPDATE users SET is_admin = true'", "UPDATE users SET is_admin = true"),
    ],
)
def test_asks_where_the_old_hook_let_data_go(tmp_path: Path, command: str, fragment: str):
    project = project_with(tmp_path, MONOREPO, NEW)
    output = decision(call(bash(command, project)))
    assert output is not None, f"passed: {command!r}"
    assert fragment in output["permissionDecisionReason"], output


@pytest.mark.parametrize(
    "command",
    [
        "alembic downgrade --help",
        "alembic stamp -h",
        "cd backend && alembic history",
        "psql -f sql/seed.sql",
        "make up",
        "make -n reset",
        "git clean -n -dx",
        "docker compose down",
        "rm -rf .pytest_cache",
    ],
)
def test_harmless_commands_in_the_same_project_pass(tmp_path: Path, command: str) -> None:
    project = project_with(tmp_path, MONOREPO, NEW)
    done = call(bash(command, project))
    assert (decision(done), done.stderr) == (None, "")


def test_upgrade_passes_once_the_dropping_revision_is_committed(tmp_path: Path) -> None:
    project = project_with(tmp_path, MONOREPO)
    assert decision(call(bash("cd backend && alembic upgrade head", project))) is None
