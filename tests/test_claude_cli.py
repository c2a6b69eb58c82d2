"""The real Claude Code CLI (pinned in scripts/bootstrap.sh) validates the bundle."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import ROOT


def run_claude(claude: str, tmp_path: Path, *args: str, cwd: Path = ROOT):
    home = tmp_path / "home"  # a throwaway HOME: no login, no user settings
    home.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "CLAUDE_"))}
    env.update(HOME=str(home), CI="true", NO_COLOR="1")
    return subprocess.run(
        [claude, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def test_pinned_version(claude: str, tmp_path: Path) -> None:
    stored = ROOT / "scripts" / "validate" / "schemas" / "claude-code.json"
    facts = json.loads(stored.read_text(encoding="utf-8"))
    proc = run_claude(claude, tmp_path, "--version")
    assert proc.stdout.split()[0] == facts["cli_version"], proc.stdout


@pytest.mark.parametrize(
    "args",
    [
        ["--profile", "directory", "."],
        ["--profile", "directory", ".claude-plugin/plugin.json"],
        [".claude-plugin/marketplace.json"],  # a marketplace takes no --profile
    ],
    ids=["plugin-folder", "plugin.json", "marketplace.json"],
)
def test_strict_validation_passes(claude: str, tmp_path: Path, args: list[str]) -> None:
    proc = run_claude(claude, tmp_path, "plugin", "validate", "--strict", *args)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    assert "Validation passed" in output
    assert "warning" not in output.lower(), output


def test_strict_validation_fails_on_a_broken_copy(claude: str, tmp_path: Path) -> None:
    """The gate above can fail: an unknown manifest key and no README make it exit 1."""
    copy = tmp_path / "plugin"
    shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns(".venv", ".tools", ".git", "*cache*"))
    manifest = copy / ".claude-plugin/plugin.json"
    data = json.loads(manifest.read_text(encoding="utf-8"))
    data["bogus"] = True
    manifest.write_text(json.dumps(data), encoding="utf-8")
    (copy / "README.md").unlink()
    proc = run_claude(
        claude, tmp_path, "plugin", "validate", "--strict", "--profile", "directory", ".", cwd=copy
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 1, output
    assert "Unknown field 'bogus'" in output
    assert "README_MISSING" in output


def test_install_from_this_repository_as_a_marketplace(claude: str, tmp_path: Path) -> None:
    copy = tmp_path / "checkout"
    shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns(".venv", ".tools", ".git", "*cache*"))
    added = run_claude(claude, tmp_path, "plugin", "marketplace", "add", str(copy))
    assert added.returncode == 0, added.stdout + added.stderr
    installed = run_claude(
        claude, tmp_path, "plugin", "install", "fastapi-async-db@fastapi-async-db"
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr
    listed = run_claude(claude, tmp_path, "plugin", "list")
    version = json.loads((ROOT / ".claude-plugin/plugin.json").read_text(encoding="utf-8"))[
        "version"
    ]
    assert "fastapi-async-db@fastapi-async-db" in listed.stdout
    assert f"Version: {version}" in listed.stdout
    assert "enabled" in listed.stdout


def render(claude: str, tmp_path: Path, prompt: str) -> tuple[str, str]:
    """Run the real CLI offline on a prompt; it stops at "Not logged in", but its transcript
    holds what Claude would receive. Returns (the expanded command, the system prompt)."""
    texts = rendered_texts(claude, tmp_path, prompt)
    command = next(t for t in texts if t.startswith("# Set up the async database layer"))
    system = next(t for t in texts if "Available agent types" in t)
    return command, system


def rendered_texts(claude: str, tmp_path: Path, prompt: str) -> list[str]:
    """Every text part of the request Claude would receive for this prompt."""
    project = tmp_path / "project"
    project.mkdir()
    (project / "main.py").write_text("from fastapi import FastAPI\n\napp = FastAPI()\n")
    proc = run_claude(claude, tmp_path, "-p", prompt, "--plugin-dir", str(ROOT), cwd=project)
    assert "Not logged in" in proc.stdout + proc.stderr, proc.stdout + proc.stderr
    transcripts = list((tmp_path / "home" / ".claude" / "projects").glob("*/*.jsonl"))
    assert len(transcripts) == 1, transcripts
    texts = []
    for line in transcripts[0].read_text(encoding="utf-8").splitlines():
        entry = json.loads(line)
        if entry.get("type") != "api-request-blob":
            continue
        for part in entry["message"]["content"]:
            texts.append(part.get("text") or "")
    return texts


def test_setup_database_renders_what_claude_needs(claude: str, tmp_path: Path) -> None:
    command, system = render(claude, tmp_path, "/fastapi-async-db:setup-database postgres")
    assert "The backend the user asked for: `postgres`." in command
    assert "Files at the project root: main.py" in command  # !`ls -A` ran before the prompt
    for leftover in ("$0", "$ARGUMENTS", "${CLAUDE_PLUGIN_ROOT}", "!`"):
        assert leftover not in command, leftover
    paths = re.findall(re.escape(str(ROOT)) + r"/[\w./-]+", command)
    assert paths, "the command names no bundled file"
    for path in paths:
        assert Path(path).exists(), path
    agents = re.findall(r"^- (fastapi-async-db:[\w-]+):", system, re.M)
    named = set(re.findall(r'subagent_type: "([\w:-]+)"', command))
    assert named and named <= set(agents), (named, agents)
    assert "- fastapi-async-db:async-db-layer:" in system
    assert "- fastapi-async-db:async-sqlalchemy:" in system


def test_async_sqlalchemy_skill_renders_with_links_that_resolve(claude: str, tmp_path: Path):
    """Invoked by name, the skill arrives with its folder, and every link in it resolves
    from that folder to a tested reference."""
    texts = rendered_texts(claude, tmp_path, "/fastapi-async-db:async-sqlalchemy")
    skill = next(t for t in texts if "# Async SQLAlchemy 2.x and Alembic for FastAPI" in t)
    base = re.search(r"Base directory for this skill: (\S+)", skill)
    assert base, skill[:500]
    folder = Path(base.group(1))
    assert folder.resolve() == (ROOT / "skills" / "async-sqlalchemy").resolve()
    links = re.findall(r"\]\(([^)#]+\.md)", skill)
    assert len(links) >= 6, links
    for link in links:
        assert (folder / link).is_file(), link


def test_setup_database_without_an_argument_asks(claude: str, tmp_path: Path) -> None:
    command, _ = render(claude, tmp_path, "/fastapi-async-db:setup-database")
    assert "The backend the user asked for: ``." in command
    assert "$0" not in command  # Claude Code leaves $0 as it is when there is no argument
    assert "If no\nbackend was named, or it is not one of these" in command
    assert "ask with AskUserQuestion" in command


def test_always_on_context_is_at_most_400_tokens(claude: str, tmp_path: Path) -> None:
    """What every session pays for the plugin, as the pinned CLI projects it."""
    proc = run_claude(
        claude, tmp_path, "--plugin-dir", str(ROOT), "plugin", "details", "fastapi-async-db"
    )
    match = re.search(r"Always-on:\s+~(\d+) tok", proc.stdout)
    assert match, proc.stdout + proc.stderr
    assert int(match.group(1)) <= 400, proc.stdout


def test_db_doctor_renders_a_command_that_runs_the_bundled_script(claude: str, tmp_path: Path):
    texts = rendered_texts(claude, tmp_path, "/fastapi-async-db:db-doctor")
    command = next(t for t in texts if t.startswith("# Database doctor"))
    for leftover in ("$ARGUMENTS", "${CLAUDE_PLUGIN_ROOT}", "!`"):
        assert leftover not in command, leftover
    script = ROOT / "skills" / "async-db-layer" / "scripts" / "db_doctor.py"
    assert f"python3 {script} ." in command
    assert 'subagent_type: "fastapi-async-db:fastapi-database-specialist"' in command


def test_the_hook_is_loaded(claude: str, tmp_path: Path) -> None:
    proc = run_claude(
        claude, tmp_path, "--plugin-dir", str(ROOT), "plugin", "details", "fastapi-async-db"
    )
    assert re.search(r"Hooks \(2\)\s+PreToolUse.*\s+PreSkillShellCommand", proc.stdout), proc.stdout


@pytest.mark.parametrize("guarded", [True, False], ids=["with-the-hook", "control"])
def test_the_hook_stops_a_shell_line_of_a_command(
    claude: str, tmp_path: Path, guarded: bool
) -> None:
    """A command's `!` line runs while Claude Code expands the prompt, before any model call
    (so offline too): with our PreSkillShellCommand hook a line that deletes a SQLite database
    does not run and the expanded prompt says it was blocked; without it (control) it runs."""
    plugin = tmp_path / "plugin"
    shutil.copytree(ROOT / ".claude-plugin", plugin / ".claude-plugin")
    shutil.copytree(ROOT / "hooks", plugin / "hooks", ignore=shutil.ignore_patterns("*cache*"))
    if not guarded:
        (plugin / "hooks" / "hooks.json").unlink()
    (plugin / "commands").mkdir()
    (plugin / "commands" / "tidy.md").write_text(
        "---\ndescription: tidy\nallowed-tools: Bash(rm:*)\n---\n"
        "Tidied: !`rm -f app.sqlite3 && echo removed`\n",
        encoding="utf-8",
    )
    project = tmp_path / "project"
    project.mkdir()
    (project / "app.sqlite3").write_bytes(b"SQLite format 3\x00")
    run_claude(
        claude, tmp_path, "-p", "/fastapi-async-db:tidy", "--plugin-dir", str(plugin), cwd=project
    )
    transcript = "".join(
        p.read_text(encoding="utf-8") for p in (tmp_path / "home").rglob("projects/*/*.jsonl")
    )
    assert "Tidied:" in transcript, "the command was not expanded"
    if guarded:
        assert (project / "app.sqlite3").exists()
        assert "blocked by hook: fastapi-async-db: `rm -f app.sqlite3` removes" in transcript
    else:
        assert not (project / "app.sqlite3").exists()
        assert "Tidied: removed" in transcript
