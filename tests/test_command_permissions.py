"""Each command's allowed-tools cover exactly the shell commands its phases tell Claude to
run: each command in the body is permitted, and each Bash entry is used by some command."""

from __future__ import annotations

import re

import pytest
from conftest import ROOT
from validate.read import parse_frontmatter, split_frontmatter
from validate.rules.frontmatter import split_tools
from validate.shell_lines import bash_allowed

# command -> how many shell commands its body names at least (the extraction finds them)
COMMANDS = {"setup-database": 8, "db-doctor": 1}
PROGRAMS = ("python3", "python", ".venv/bin/python", "pytest", "uv", "poetry", "pip")
PROGRAMS += ("alembic", "grep", "ls", "cd")


def frontmatter_and_body(name: str) -> tuple[dict, str]:
    """Split and read as Claude Code does (the validator's reader)."""
    text = (ROOT / "commands" / f"{name}.md").read_text(encoding="utf-8")
    front, body_start, _ = split_frontmatter(text)
    meta, _ = parse_frontmatter(front)
    return meta, "\n".join(text.split("\n")[body_start - 1 :])


def shell_commands(body: str) -> list[str]:
    """Inline code spans and !`...` lines that start with a program, split at && and |."""
    found = []
    for span in re.findall(r"`([^`\n]+)`", body):
        for part in re.split(r"\s*(?:&&|\|)\s*", span):
            words = part.split()
            if words and words[0] in PROGRAMS and len(words) > 1:
                found.append(part)
    return found


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_in_the_phases_is_allowed(name: str) -> None:
    meta, body = frontmatter_and_body(name)
    allowed = split_tools(meta["allowed-tools"])
    commands = [c for c in shell_commands(body) if not c.startswith("cd ")]
    assert len(commands) >= COMMANDS[name], commands
    refused = [c for c in commands if not bash_allowed(c, allowed)]
    assert not refused, refused


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_bash_entry_is_used(name: str) -> None:
    meta, body = frontmatter_and_body(name)
    entries = [e for e in split_tools(meta["allowed-tools"]) if e.startswith("Bash")]
    assert "Bash" not in entries, "a bare Bash entry allows every command"
    commands = shell_commands(body)
    unused = [e for e in entries if not any(bash_allowed(c, [e]) for c in commands)]
    assert not unused, unused
