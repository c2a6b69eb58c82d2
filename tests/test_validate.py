"""scripts/validate.py: the good corpus passes, and each broken input gets one clear
`path:line: message` (never a traceback)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT

GOOD = ROOT / "tests" / "validate_corpus" / "good"
HELLO = (GOOD / "commands" / "hello.md").read_text(encoding="utf-8")
HELPER = (GOOD / "agents" / "helper.md").read_text(encoding="utf-8")
SKILL = (GOOD / "skills" / "greet-user" / "SKILL.md").read_text(encoding="utf-8")


def validate(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "validate.py"), str(root)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def frontmatter(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


# Each case: files laid over the good plugin (None deletes), and the lines it must report.
CASES = {
    "bad-yaml": (
        {
            "commands/hello.md": frontmatter(
                HELLO, "argument-hint: <name>", "argument-hint: [unclosed"
            )
        },
        ["commands/hello.md:4: frontmatter is not valid YAML"],
    ),
    "frontmatter-not-closed": (
        {"commands/hello.md": "---\ndescription: x\n\nbody\n"},
        ["commands/hello.md:1: the frontmatter opened on line 1 is never closed"],
    ),
    "frontmatter-missing": (
        {"commands/hello.md": "Just a body, no frontmatter.\n"},
        ["commands/hello.md:1: no frontmatter"],
    ),
    "frontmatter-not-a-mapping": (
        {"agents/helper.md": "---\n- a\n- b\n---\nbody\n"},
        ["agents/helper.md:2: frontmatter must be a mapping"],
    ),
    "missing-description": (
        {
            "commands/hello.md": frontmatter(
                HELLO, "description: Say hello and show the git status\n", ""
            )
        },
        ["commands/hello.md:2: (top level): 'description' is a required property"],
    ),
    "wrong-types": (
        {
            "agents/helper.md": frontmatter(
                HELPER, "model: sonnet", "model: sonnet\nmaxTurns: many"
            ),
            "commands/hello.md": frontmatter(
                HELLO,
                "argument-hint: <name>",
                'argument-hint: <name>\ndisable-model-invocation: "yes"',
            ),
        },
        [
            "agents/helper.md:6: maxTurns: 'many' is not of type 'integer'",
            "commands/hello.md:4: disable-model-invocation: 'yes' is not of type 'boolean'",
        ],
    ),
    "unknown-keys": (
        {
            "commands/hello.md": frontmatter(
                HELLO, "argument-hint: <name>", "argument-hint: <name>\ncolour: red"
            )
        },
        ["commands/hello.md:4: unknown key 'colour': Claude Code ignores it"],
    ),
    "agent-keys-ignored-for-plugins": (
        {
            "agents/helper.md": frontmatter(
                HELPER, "model: sonnet", "model: sonnet\npermissionMode: acceptEdits\nhooks: {}"
            )
        },
        [
            "agents/helper.md:6: permissionMode is ignored for plugin agents",
            "agents/helper.md:7: hooks is ignored for plugin agents",
        ],
    ),
    "skill-bad-name": (
        {"skills/greet-user/SKILL.md": frontmatter(SKILL, "name: greet-user", "name: Greet_User")},
        [
            "skills/greet-user/SKILL.md:2: name: 'Greet_User' does not match ^[a-z0-9-]+$",
            "skills/greet-user/SKILL.md:2: skill name 'Greet_User' differs from its folder",
        ],
    ),
    "skill-name-too-long": (
        {"skills/greet-user/SKILL.md": frontmatter(SKILL, "name: greet-user", "name: " + "a" * 65)},
        ["skills/greet-user/SKILL.md:2: name: '" + "a" * 65 + "' is too long"],
    ),
    "skill-description": (
        {
            "skills/greet-user/SKILL.md": frontmatter(
                SKILL,
                "description: Greets",
                "description: Use <b>this</b>. " + "x" * 1030 + " Greets",
            )
        },
        [
            "skills/greet-user/SKILL.md:3: description: 'Use <b>this</b>.",
            "is too long",
            "does not match ^[^<>]*$",
        ],
    ),
    "agent-bad-tools": (
        {
            "agents/helper.md": frontmatter(
                HELPER, "tools: Read, Grep", "tools: Read, Frobnicate, Bash(), Grep"
            )
        },
        [
            "agents/helper.md:4: tools: 'Frobnicate' is not a Claude Code tool",
            "agents/helper.md:4: tools: 'Bash()' has an empty pattern",
        ],
    ),
    "agent-bad-model": (
        {"agents/helper.md": frontmatter(HELPER, "model: sonnet", "model: gpt-4")},
        ["agents/helper.md:5: model 'gpt-4' is not one of haiku, sonnet, opus, fable, inherit"],
    ),
    "duplicate-agent": (
        {"agents/helper-copy.md": HELPER},
        ["agents/helper.md:2: agent name 'helper' is also used by agents/helper-copy.md"],
    ),
    "command-skill-collision": (
        {"commands/greet-user.md": "---\ndescription: clashes with the skill\n---\nbody\n"},
        [
            "skills/greet-user/SKILL.md:2: skill 'greet-user' has the name of command "
            "commands/greet-user.md"
        ],
    ),
    "builtin-shadow": (
        {"commands/help.md": "---\ndescription: my own help\n---\nbody\n"},
        ["commands/help.md:1: command name 'help' shadows Claude Code's built-in /help"],
    ),
    "dangling-link": (
        {"skills/greet-user/references/phrases.md": None},
        ["skills/greet-user/SKILL.md:6: link 'references/phrases.md' points to nothing"],
    ),
    "dangling-plugin-root": (
        {"scripts/tool.py": None},
        ["commands/hello.md:9: ${CLAUDE_PLUGIN_ROOT}/scripts/tool.py does not exist"],
    ),
    "dangling-agent-id": (
        {
            "commands/hello.md": HELLO.replace("corpus-plugin:helper", "corpus-plugin:architect")
            + '\nTask(subagent_type="database-architect-agent")\n'
        },
        [
            "commands/hello.md:10: corpus-plugin:architect names no agent, skill or command",
            "commands/hello.md:10: subagent_type 'corpus-plugin:architect' names no agent",
            "commands/hello.md:12: subagent_type 'database-architect-agent' names no agent",
        ],
    ),
    "dangling-skill": (
        {
            "agents/helper.md": frontmatter(
                HELPER, "skills: greet-user", "skills: [greet-user, farewell]"
            )
        },
        ["agents/helper.md:6: skills: 'farewell' names no skill of this plugin"],
    ),
    "bang-brace-syntax": (
        {"commands/hello.md": HELLO + "\nExample: !{bash ls -la src/}\n"},
        ["commands/hello.md:12: '!{...}' is not Claude Code syntax"],
    ),
    "bang-backtick-not-allowed": (
        {"commands/hello.md": HELLO + "\nFiles: !`ls -la`\n"},
        [
            "commands/hello.md:12: !`ls -la` runs before the prompt but allowed-tools has "
            "no Bash entry"
        ],
    ),
    "empty-file": (
        {"agents/helper.md": ""},
        ["agents/helper.md:1: empty file; a agent needs frontmatter"],
    ),
    "non-utf8": (
        {"commands/hello.md": HELLO.encode() + b"\ncaf\xe9\n"},
        ["commands/hello.md:12: not UTF-8 (byte 0xe9 at offset"],
    ),
    "manifest-not-json": (
        {".claude-plugin/plugin.json": '{\n  name: "corpus-plugin"\n}\n'},
        [".claude-plugin/plugin.json:2: not valid JSON: Expecting property name"],
    ),
    "manifest-empty": (
        {".claude-plugin/plugin.json": ""},
        [".claude-plugin/plugin.json:1: empty file"],
    ),
    "manifest-missing": (
        {".claude-plugin/plugin.json": None},
        [".claude-plugin/plugin.json:1: missing"],
    ),
    "manifest-wrong-types": (
        {
            ".claude-plugin/plugin.json": '{\n  "name": "Corpus Plugin",\n  "version": 1,\n'
            '  "description": "d",\n  "author": "me",\n  "license": "MIT",\n  "extra": true\n}\n'
        },
        [
            ".claude-plugin/plugin.json:2: name: 'Corpus Plugin' does not match",
            ".claude-plugin/plugin.json:3: version: 1 is not of type 'string'",
            ".claude-plugin/plugin.json:5: author: 'me' is not of type 'object'",
            ".claude-plugin/plugin.json:7: unknown key 'extra'",
        ],
    ),
    "marketplace-bad-source": (
        {
            ".claude-plugin/marketplace.json": '{\n  "name": "m",\n  "owner": {"name": "o"},\n'
            '  "plugins": [\n    {"name": "corpus-plugin", "source": "./nowhere"}\n  ]\n}\n'
        },
        [".claude-plugin/marketplace.json:5: plugins[0].source './nowhere' holds no"],
    ),
    "skill-folder-without-skill-md": (
        {"skills/empty-skill/notes.md": "# notes\n"},
        ["skills/empty-skill:1: a skill folder without SKILL.md"],
    ),
}


def build(tmp_path: Path, overlay: dict[str, str | bytes | None]) -> Path:
    root = tmp_path / "plugin"
    shutil.copytree(GOOD, root)
    for rel, content in overlay.items():
        path = root / rel
        if content is None:
            path.unlink()
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return root


def test_good_corpus_passes() -> None:
    proc = validate(GOOD)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")


def test_this_repository_passes_quickly() -> None:
    start = time.monotonic()
    proc = validate(ROOT)
    elapsed = time.monotonic() - start
    assert proc.returncode == 0, proc.stdout
    assert elapsed < 10, f"the validator took {elapsed:.1f}s on this repository"


@pytest.mark.parametrize("case", sorted(CASES))
def test_broken_input_gets_a_clear_error(tmp_path: Path, case: str) -> None:
    overlay, expected = CASES[case]
    proc = validate(build(tmp_path, overlay))
    output = proc.stdout + proc.stderr
    assert proc.returncode == 1, output
    assert "Traceback" not in output
    lines = proc.stdout.splitlines()
    assert lines, "no problem reported"
    for line in lines:
        path, number, message = line.split(":", 2)
        assert number.isdigit() and message.strip(), f"not path:line: message: {line!r}"
    for fragment in expected:
        assert fragment in proc.stdout, f"{fragment!r} not in:\n{proc.stdout}"
