"""The validator (scripts/validate/): for every rule one input it must flag, at the right
`path:line`, and one look-alike it must accept (what Claude Code accepts); the adversarial
inputs end in a clear message, never a traceback or a hang; its facts are the pinned CLI's."""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import validate
from conftest import ROOT, need_server
from validate import facts
from validate.facts import load as load_facts
from validate.rules.marketplace import impersonates

GOOD = ROOT / "tests" / "validate_corpus" / "good"
HELLO = (GOOD / "commands" / "hello.md").read_text(encoding="utf-8")
HELPER = (GOOD / "agents" / "helper.md").read_text(encoding="utf-8")
SKILL = (GOOD / "skills" / "greet-user" / "SKILL.md").read_text(encoding="utf-8")
MANIFEST = (GOOD / ".claude-plugin" / "plugin.json").read_text(encoding="utf-8")


def edit(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


def market(name: str = "corpus-market", source: str = "./", plugin: str = "corpus-plugin") -> str:
    """A marketplace listing this plugin, and a second entry unless it would be the same."""
    second = f'    {{"name": "{plugin}", "source": "{source}"}}\n'
    if (plugin, source) == ("corpus-plugin", "./"):
        second = ""
    first = '    {"name": "corpus-plugin", "source": "./"}' + (",\n" if second else "\n")
    return (
        f'{{\n  "name": "{name}",\n  "owner": {{"name": "o"}},\n  "plugins": [\n'
        f"{first}{second}  ]\n}}\n"
    )


def hooks(
    event="PreToolUse", script="scripts/tool.py", command='python3 "${{CLAUDE_PLUGIN_ROOT}}/{}"'
):
    return json.dumps(
        {
            "hooks": {
                event: [
                    {
                        "matcher": "Bash",
                        "hooks": [{"type": "command", "command": command.format(script)}],
                    }
                ]
            }
        },
        indent=2,
    )


SECOND = "---\nname: second\ndescription: Use when asked.\n---\nbody\n"
# rule id -> (overlay it must flag, the findings' `path:line`, a look-alike overlay it accepts)
CASES = {
    "file-unreadable": (
        {"commands/x.md": "fifo"},
        ["commands/x.md:1"],
        {"commands/x.md": "---\ndescription: a regular file\n---\nbody\n"},
    ),
    "file-encoding": (
        {"commands/hello.md": HELLO.encode() + b"\ncaf\xe9\n"},
        ["commands/hello.md:12"],
        {"commands/hello.md": HELLO + "\ncafé\n"},
    ),
    "json-invalid": (
        {".claude-plugin/plugin.json": '{\n  name: "corpus-plugin"\n}\n'},
        [".claude-plugin/plugin.json:2"],
        {".claude-plugin/plugin.json": '{\n  "name": "corpus-plugin"\n}\n'},
    ),
    "frontmatter-yaml": (
        {"commands/hello.md": edit(HELLO, "argument-hint: <name>", 'argument-hint: "unclosed')},
        ["commands/hello.md:3"],
        # values with ': ' and tabs: Claude Code's loader quotes them and reads them
        {"commands/hello.md": edit(HELLO, "argument-hint: <name>", "argument-hint: a: b")},
    ),
    "frontmatter-ends-early": (
        {
            "commands/hello.md": edit(
                HELLO, "argument-hint: <name>", "argument-hint: |\n  x\n  ---\n  y"
            )
        },
        ["commands/hello.md:5"],
        {"commands/hello.md": edit(HELLO, "argument-hint: <name>", "argument-hint: |\n  x\n  - y")},
    ),
    "frontmatter-missing": (
        {"agents/helper.md": "Just a body.\n"},
        ["agents/helper.md:1"],
        {"commands/hello.md": "Just a body: a command needs no frontmatter.\n"},
    ),
    "frontmatter-type": (
        {"agents/helper.md": edit(HELPER, "model: sonnet", "model: sonnet\nmaxTurns: many")},
        ["agents/helper.md:6"],
        {"agents/helper.md": edit(HELPER, "model: sonnet", "model: sonnet\nmaxTurns: 3")},
    ),
    "frontmatter-unknown-key": (
        {
            "commands/hello.md": edit(
                HELLO, "argument-hint: <name>", "argument-hint: <name>\nallowed_tools: Read"
            )
        },
        ["commands/hello.md:4"],
        {
            "skills/greet-user/SKILL.md": edit(
                SKILL,
                "name: greet-user",
                "name: greet-user\nversion: 1.0.0\nauthor: me\nlicense: MIT\nmetadata: {a: 1}",
            ),
            "commands/hello.md": edit(
                HELLO,
                "argument-hint: <name>",
                "argument-hint: [name]\nversion: 1\narguments: name\ndisallowedTools: Write",
            ),
        },
    ),
    "agent-key-ignored": (
        {
            "agents/helper.md": edit(
                HELPER, "model: sonnet", "model: sonnet\npermissionMode: acceptEdits"
            )
        },
        ["agents/helper.md:6"],
        {"agents/helper.md": edit(HELPER, "model: sonnet", "model: sonnet\ncolor: blue")},
    ),
    "model-unknown": (
        {"agents/helper.md": edit(HELPER, "model: sonnet", "model: gpt-4")},
        ["agents/helper.md:5"],
        {"agents/helper.md": edit(HELPER, "model: sonnet", "model: claude-sonnet-4-5")},
    ),
    "tool-unknown": (
        {"agents/helper.md": edit(HELPER, "tools: Read, Grep", "tools: Read, Frobnicate, Grep")},
        ["agents/helper.md:4"],
        {
            "agents/helper.md": edit(
                HELPER, "tools: Read, Grep", "tools: Read, Task, Monitor, mcp__db__query, Grep"
            )
        },
    ),
    "tool-empty-pattern": (
        {"agents/helper.md": edit(HELPER, "tools: Read, Grep", "tools: Read, Bash(), Grep")},
        ["agents/helper.md:4"],
        {"agents/helper.md": edit(HELPER, "tools: Read, Grep", "tools: Read, Bash(ls:*), Grep")},
    ),
    "bang-brace": (
        {"commands/hello.md": HELLO + "\nChanges: !{git diff --stat}\n"},  # Gemini CLI's form
        ["commands/hello.md:12"],
        {"commands/hello.md": HELLO + "\n```bash\n# in an example block: !{not run}\n```\n"},
    ),
    "bang-not-allowed": (
        {"commands/hello.md": HELLO + "\nNotes: !`touch notes.md`\n"},
        ["commands/hello.md:12"],
        {"commands/hello.md": HELLO + "\nChanges: !`git diff --stat`\n"},
    ),
    "plugin-root-path": (
        {"scripts/tool.py": None},
        ["commands/hello.md:9"],
        {
            "commands/hello.md": edit(
                HELLO,
                "allowed-tools: Bash(git status:*), Read",
                "allowed-tools: Bash(git status:*), Read, "
                "Bash(${CLAUDE_PLUGIN_ROOT}/scripts/tool.py:*)",
            )
            + "\n```bash\npython ${CLAUDE_PLUGIN_ROOT}/scripts/an-example.py\n```\n"
        },
    ),
    "plugin-id": (
        {"commands/hello.md": HELLO + "\nAsk the corpus-plugin:architect agent.\n"},
        ["commands/hello.md:12"],
        {  # a name not used as a component: a tool, a meta-data key (held-out part 8)
            "commands/hello.md": HELLO
            + "\nAsk the corpus-plugin:helper agent, or see https://x.dev/corpus-plugin:y.\n"
            + "Call `corpus-plugin:get_build`; keys like `corpus-plugin:webhook` are set.\n"
        },
    ),
    "subagent-type": (
        {"commands/hello.md": HELLO + '\nTask(subagent_type="helper")\n'},  # corpus-plugin:helper
        ["commands/hello.md:12"],
        {"commands/hello.md": HELLO + "\nThe subagent_type parameter picks an agent: Explore.\n"},
    ),
    "skill-reference": (
        {"agents/helper.md": edit(HELPER, "skills: greet-user", "skills: [greet-user, farewell]")},
        ["agents/helper.md:6"],
        {"agents/helper.md": edit(HELPER, "skills: greet-user", "skills: [greet-user]")},
    ),
    "link-dangling": (
        {"commands/hello.md": HELLO + "\nSee [phrases](references/phrases.md), [up](../x.md).\n"},
        ["commands/hello.md:12"],  # the plugin has it in skills/greet-user/; ../ leaves it
        {
            "commands/hello.md": HELLO
            + "\nSee [phrases](../skills/greet-user/references/phrases.md).\n"
        },
    ),
    "link-missing": (
        {"skills/greet-user/references/phrases.md": None},
        ["skills/greet-user/SKILL.md:6"],
        {
            "skills/greet-user/SKILL.md": SKILL
            + "\nSee [the site](https://example.com/x) and [above](#top).\n"
        },
    ),
    "link-absolute": (
        {"skills/greet-user/SKILL.md": SKILL + "\nSee [notes](/home/me/notes.md).\n"},
        ["skills/greet-user/SKILL.md:8"],
        {"skills/greet-user/SKILL.md": SKILL + "\nSee [notes](references/phrases.md).\n"},
    ),
    "name-collision": (
        {"commands/greet-user.md": "---\ndescription: clashes with the skill\n---\nbody\n"},
        ["skills/greet-user/SKILL.md:1"],
        # a skill is registered by folder: a different frontmatter name does not clash
        {
            "commands/greet.md": "---\ndescription: no clash\n---\nbody\n",
            "skills/greet-user/SKILL.md": edit(SKILL, "name: greet-user", "name: greet"),
        },
    ),
    "agent-name-duplicate": (
        {"agents/helper-copy.md": HELPER},
        ["agents/helper.md:2"],
        {"agents/helper-copy.md": edit(HELPER, "name: helper", "name: helper-two")},
    ),
    "skill-folder": (
        {"skills/second/skill.md": SECOND},
        ["skills/second:1"],
        # a folder of shared scripts or notes is no skill and none was meant
        {
            "skills/second/SKILL.md": SECOND,
            "skills/lib/notes.md": "# helpers\n",
            "skills/_shared/scripts/x.sh": "true\n",
        },
    ),
    "manifest-schema": (
        {".claude-plugin/plugin.json": edit(MANIFEST, '"version": "1.0.0"', '"version": 1')},
        [".claude-plugin/plugin.json:3"],
        {".claude-plugin/plugin.json": '{\n  "name": "corpus-plugin"\n}\n'},
    ),
    "component-path": (
        {
            ".claude-plugin/plugin.json": edit(
                MANIFEST,
                '"license": "MIT"',
                '"license": "MIT",\n  "commands": ["./commands/hello.txt"]',
            )
        },
        [".claude-plugin/plugin.json:7"],
        {
            ".claude-plugin/plugin.json": edit(
                MANIFEST,
                '"license": "MIT"',
                '"license": "MIT",\n  "commands": ["./commands/hello.md"]',
            )
        },
    ),
    "manifest-missing": (
        {".claude-plugin/plugin.json": None, "skills/greet-user/SKILL.md": None},
        [".:1"],
        {".claude-plugin/plugin.json": None},  # a skills-only folder
    ),
    "mcp-server": (
        {".mcp.json": '{\n  "mcpServers": {\n    "db": {"type": "http"}\n  }\n}\n'},
        [".mcp.json:3"],
        {".mcp.json": '{\n  "db": {"command": "uvx", "args": ["db-mcp"]}\n}\n'},
    ),
    "marketplace-schema": (
        {".claude-plugin/marketplace.json": edit(market(), '"owner"', '"ownr": 1,\n  "owner"')},
        [".claude-plugin/marketplace.json:3"],
        {
            ".claude-plugin/marketplace.json": edit(
                market(), '"owner"', '"description": "d",\n  "version": "1",\n  "owner"'
            )
        },
    ),
    "marketplace-name-reserved": (
        {".claude-plugin/marketplace.json": market(name="claude-plugins-official")},
        [".claude-plugin/marketplace.json:2"],
        {".claude-plugin/marketplace.json": market(name="db-plugins-for-claude")},
    ),
    "marketplace-name-impersonation": (
        {".claude-plugin/marketplace.json": market(name="Claude_Official-Tools")},
        [".claude-plugin/marketplace.json:2"],
        {".claude-plugin/marketplace.json": market(name="tools-that-claude-uses")},
    ),
    "plugin-name-reserved": (
        {".claude-plugin/plugin.json": MANIFEST.replace('"corpus-plugin"', '"claude-corpus"')},
        [".claude-plugin/plugin.json:2"],
        {".claude-plugin/plugin.json": MANIFEST.replace('"corpus-plugin"', '"corpus-for-claude"')},
    ),
    "marketplace-plugin-duplicate": (
        {".claude-plugin/marketplace.json": market(source="./skills")},
        [".claude-plugin/marketplace.json:6"],
        {".claude-plugin/marketplace.json": market(source="./skills", plugin="other-plugin")},
    ),
    "marketplace-source": (
        {".claude-plugin/marketplace.json": market(source="./nowhere")},
        [".claude-plugin/marketplace.json:6"],
        {".claude-plugin/marketplace.json": market(source="./")},
    ),
    "hooks-schema": (
        {"hooks/hooks.json": hooks(event="BeforeBash")},
        ["hooks/hooks.json:3"],
        {"hooks/hooks.json": hooks(event="PreToolUse")},
    ),
    "hooks-unquoted-root": (
        {"hooks/hooks.json": hooks(command="python3 ${{CLAUDE_PLUGIN_ROOT}}/{}")},
        ["hooks/hooks.json:9"],
        {"hooks/hooks.json": hooks(command='python3 "${{CLAUDE_PLUGIN_ROOT}}/{}" --quiet')},
    ),
    "hooks-command-path": (
        {"hooks/hooks.json": hooks(script="hooks/missing.py")},
        ["hooks/hooks.json:9"],
        {"hooks/hooks.json": hooks(script="scripts/tool.py")},
    ),
}


def build(tmp_path: Path, overlay: dict) -> Path:
    root = tmp_path / "plugin"
    shutil.copytree(GOOD, root)
    for rel, content in overlay.items():
        path = root / rel
        if content is None:
            path.unlink()
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        if content == "fifo":
            os.mkfifo(path)
        elif isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return root


def test_every_rule_has_a_case_and_every_case_a_rule() -> None:
    assert sorted(CASES) == sorted(validate.RULES)


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_rule_flags_its_case_at_its_line(tmp_path: Path, rule_id: str) -> None:
    overlay, where, _ = CASES[rule_id]
    found = validate.run(build(tmp_path, overlay), every=True)
    assert sorted({f"{f.rel}:{f.line}" for f in found if f.rule == rule_id}) == sorted(where), [
        str(f) for f in found
    ]


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_rule_accepts_its_look_alike(tmp_path: Path, rule_id: str) -> None:
    _, _, look_alike = CASES[rule_id]
    assert [str(f) for f in validate.run(build(tmp_path, look_alike), every=True)] == []


def test_good_corpus_and_this_repository_pass() -> None:
    assert validate.run(GOOD, every=True) == []
    assert [str(f) for f in validate.run(ROOT, every=True)] == []


def cli(root: Path, *options: str) -> subprocess.CompletedProcess:
    command = [sys.executable, str(ROOT / "scripts" / "validate"), *options, str(root)]
    return subprocess.run(command, capture_output=True, text=True, timeout=10)


def test_the_command_line_prints_path_line_rule_message(tmp_path: Path) -> None:
    done = cli(build(tmp_path, CASES["model-unknown"][0]))
    assert done.returncode == 1
    assert done.stdout.startswith("agents/helper.md:5: [model-unknown] model 'gpt-4' is not one of")
    assert cli(GOOD).returncode == 0
    assert cli(tmp_path / "nowhere").returncode == 2


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


ADVERSARIAL = {
    "symlink-loop": ({}, "skills/loop/SKILL.md:1: [file-unreadable]"),
    "agents-linked-to-the-root-folder": ({}, "agents:1: [file-unreadable] a symlink to /"),
    "hooks-path-too-long-for-the-file-system": (
        {
            ".claude-plugin/plugin.json": '{"name": "corpus-plugin", "hooks": "./'
            + "h" * 5000
            + '"}'
        },
        ": [file-unreadable] cannot be read: File name too long",
    ),
    "deep-json": (
        {".claude-plugin/plugin.json": nested(100_000)},
        ".claude-plugin/plugin.json:1: [json-invalid]",
    ),
    "deep-yaml": (
        {"commands/hello.md": "---\ndescription: " + nested(5_000) + "\n---\nbody\n"},
        "commands/hello.md:",
    ),
    "long-link": (
        {"commands/hello.md": HELLO + "\n[x](" + "a" * 6_000 + ".md)\n"},
        "commands/hello.md:12: [link-missing]",
    ),
    "huge-plugin-root": (
        {"commands/hello.md": HELLO + "\n${CLAUDE_PLUGIN_ROOT}/" + "a" * 200_000 + "\n"},
        "commands/hello.md:12: [plugin-root-path]",
    ),
    "fifo": ({"commands/x.md": "fifo"}, "commands/x.md:1: [file-unreadable] not a regular file"),
    "alias-bomb": (
        {
            "commands/hello.md": "---\ndescription: &a [x, x]\nb: &b [*a, *a, *a, *a, *a, *a]\n"
            "c: [*b, *b, *b, *b, *b, *b]\n---\nbody\n"
        },
        "commands/hello.md:2: [frontmatter-yaml] a YAML anchor or alias",
    ),
}


@pytest.mark.parametrize("case", sorted(ADVERSARIAL))
def test_adversarial_input_ends_in_a_clear_message(tmp_path: Path, case: str) -> None:
    overlay, expected = ADVERSARIAL[case]
    root = build(tmp_path, overlay)
    if case == "symlink-loop":
        (root / "skills" / "loop").mkdir()
        (root / "skills" / "loop" / "SKILL.md").symlink_to(root / "skills" / "loop" / "SKILL.md")
        (root / "skills" / "loop" / "again").symlink_to(root / "skills" / "loop")
    if case == "agents-linked-to-the-root-folder":
        shutil.rmtree(root / "agents")
        (root / "agents").symlink_to("/")
    done = cli(root, "--all")  # the timeout of 10 s is the bound on a hang
    assert "Traceback" not in done.stderr, done.stderr[-2000:]
    assert done.returncode == 1, (done.stdout, done.stderr[-500:])
    assert expected in done.stdout, done.stdout[:2000]
    for line in done.stdout.splitlines():
        assert line.split(":", 2)[1].isdigit() and ": [" in line, line[:200]


def test_facts_are_the_pinned_cli_s() -> None:
    """schemas/claude-code.json holds what the pinned CLI's binary holds (refresh with
    `python scripts/validate facts --write` after changing the pin)."""
    try:
        found = facts.read_cli()
    except facts.FactsError as exc:
        need_server("Claude Code CLI", str(exc))
    stored = facts.load()
    assert {k: stored.get(k) for k in found} == found


EXEC_HOOK = {
    "type": "command",
    "command": "python3",
    "args": ["${CLAUDE_PLUGIN_ROOT}/scripts/tool.py"],
}


FRONTMATTER_THE_CLI_READS = {
    "a-complex-key": "---\ndescription: Hi\n? [a, b]\n: value\n---\nBody\n",
    "a-tab-after-a-colon": "---\ndescription:\tSay hello\nargument-hint:\t<name>\n---\nBody\n",
    "a-date-as-description": "---\ndescription: 2024-01-01\n---\nBody\n",
    "yes-as-text": "---\ndescription: yes\n---\nBody\n",
    "a-null-key": "---\ndescription: Hi\n~: x\nnull: y\n---\nBody\n",
    "a-plugins-own-keys": "---\ndescription: Hi\norigin: ported\ncapabilities: [a]\n---\nB\n",
    "a-short-word-near-a-key": "---\ndescription: Hi\ncommand: hello\n---\nBody\n",
    "over-65536-characters": "---\ndescription: Hi\nnotes: " + "x" * 70_000 + "\n---\nBody\n",
}
ACCEPTED = {
    "a-bare-subagent-type-none-of-ours-may-be-the-user-s": {
        "commands/hello.md": HELLO + '\nTask(subagent_type="security", ...)\n'
    },
    "a-channel-and-user-config-fields": {
        ".claude-plugin/plugin.json": edit(
            MANIFEST,
            '"license": "MIT"',
            '"license": "MIT",\n  "mcpServers": {"db": {"command": "uvx", "args": ["db-mcp"]}},\n'
            '  "userConfig": {"api_key": {"type": "string", "title": "Key", "description": "d",'
            ' "sensitive": true}},\n  "channels": [{"server": "db", "userConfig": {"url": '
            '{"type": "string", "title": "URL", "description": "d", "default": "x"}}}]',
        )
    },
    "a-skill-s-disallowed-tools-and-an-owner-s-contact": {
        "skills/greet-user/SKILL.md": edit(SKILL, "---\n", "---\ndisallowed-tools: Write\n"),
        ".claude-plugin/marketplace.json": edit(
            market(),
            '"owner": {"name": "o"}',
            '"description": "d",\n  "owner": {"name": "o", "contact": "c"}',
        ),
    },
    "a-marketplace-source-of-dot-and-a-calendar-version": {
        ".claude-plugin/marketplace.json": edit(
            market(), '"owner"', '"description": "d",\n  "owner"'
        ).replace('"source": "./"', '"source": "."'),
        ".claude-plugin/plugin.json": MANIFEST.replace('"1.0.0"', '"2026.06.23.2"'),
    },
    "a-bare-source-under-plugin-root": {  # a bare name resolves under metadata.pluginRoot
        ".claude-plugin/marketplace.json": json.dumps(
            {
                "name": "corpus-market",
                "description": "d",
                "owner": {"name": "o"},
                "metadata": {"pluginRoot": "./plugins"},
                "plugins": [
                    {"name": "corpus-plugin", "source": "./"},
                    {"name": "inner", "source": "inner"},
                ],
            },
            indent=2,
        ),
        "plugins/inner/.claude-plugin/plugin.json": MANIFEST.replace('"corpus-plugin"', '"inner"'),
    },
    "a-skill-s-license-and-compatibility-as-maps": {
        "skills/greet-user/SKILL.md": edit(
            SKILL, "---\n", "---\nlicense: {spdx: MIT}\ncompatibility:\n  tools: [Chrome]\n"
        )
    },
    "an-agent-s-when-to-use": {  # a plugin agent's description when it has none (the CLI's)
        "agents/helper.md": edit(HELPER, "model: sonnet\n", "model: sonnet\nwhen-to-use: x\n")
    },
    "keys-written-with-no-value": {
        "commands/hello.md": edit(HELLO, "---\n", "---\nmodel:\nversion:\nwhen_to_use:\n"),
        "skills/greet-user/SKILL.md": edit(SKILL, "---\n", "---\nargument-hint:\nlicense:\n"),
    },
    "a-template-of-another-plugin-s-command": {
        "skills/greet-user/templates/command-template.md": "Run "
        "`${CLAUDE_PLUGIN_ROOT}/skills/my-skill/templates/prompt.md`.\n"
    },
    "a-bracketed-label-before-a-sentence-is-no-link-definition": {
        "commands/hello.md": HELLO + "\n[RETHINK \u2014 vs now]: v0.x's loop did this.\n"
    },
    "a-skills-only-folder": {".claude-plugin/plugin.json": None},
    "manifest-fields-the-cli-takes": {
        ".claude-plugin/plugin.json": json.dumps(
            {
                "name": "corpus-plugin",
                "keywords": ["db", "db"],
                "commands": {"hello": {"source": "./commands/hello.md", "description": "d"}},
                "author": {"name": "N", "email": "", "url": ""},
                "mcpServers": [],
                "description": "d" * 1500,
            }
        )
    },
    "a-marketplace-of-skill-sets-without-plugin-json": {
        ".claude-plugin/plugin.json": None,
        ".claude-plugin/marketplace.json": json.dumps(
            {
                "name": "corpus-market",
                "owner": {"name": "o"},
                "plugins": [
                    {"name": "set-one", "source": "./", "strict": False, "skills": ["./skills"]},
                    {"name": "set-two", "source": "./", "strict": False},
                ],
            }
        ),
    },
    "a-skill-template-links-where-it-is-copied": {
        "skills/greet-user/templates/README.md": "See [the license](LICENSE) and [docs](/docs).\n",
        "skills/greet-user/references/spec-template.md": "Next: [tier](../../out/tier.md).\n",
    },
    "a-plugin-of-its-own-under-skills": {
        "skills/tracker/.claude-plugin/plugin.json": '{"name": "tracker"}',
        "skills/tracker/SKILL.md": "---\nname: tracker\ndescription: Tracks.\n---\n"
        "Run `python3 ${CLAUDE_PLUGIN_ROOT}/scripts/track.py`.\n",
        "skills/tracker/scripts/track.py": "print(1)\n",
    },
    "a-pattern-under-the-plugin-root-that-matches": {
        "scripts/one.sh": "true\n",
        "commands/hello.md": edit(
            HELLO,
            "allowed-tools: Bash(git status:*), Read",
            "allowed-tools: Bash(git status:*), Read, Bash(${CLAUDE_PLUGIN_ROOT}/scripts/*.sh:*)",
        ),
    },
    "a-marker-in-an-html-comment": {
        "commands/hello.md": HELLO + "\nKeep `<!-- corpus-plugin:generated:start -->` as is.\n"
    },
    "an-author-with-a-key-of-its-own": {
        ".claude-plugin/plugin.json": edit(
            MANIFEST, '{"name": "maintainers"}', '{"name": "maintainers", "github": "m"}'
        )
    },
    "a-marketplace-name-with-dots": {
        ".claude-plugin/marketplace.json": edit(
            market(name="corpus.github.io"), '"owner"', '"description": "d",\n  "owner"'
        )
    },
    "a-link-still-to-be-written": {"commands/hello.md": HELLO + "\nSee [the ADR](...).\n"},
    "one-bare-word-naming-no-file-is-a-slot": {
        "commands/hello.md": HELLO + '\n| "Redis is faster ([benchmark](url))." |\n'
    },
    "a-skill-file-links-from-the-skill-s-base-directory": {
        # Claude Code gives the skill "Base directory for this skill: ..."; the model reads
        # references/phrases.md from there, as the skill's SKILL.md writes it
        "skills/greet-user/references/more.md": "See [phrases](references/phrases.md).\n"
    },
    "mcp-servers-the-loader-starts": {
        ".mcp.json": json.dumps(
            {
                "mcpServers": {
                    "a": {"command": "uvx", "args": ["x"]},
                    "b": {"type": "http", "url": "https://x.dev/mcp"},
                }
            }
        )
    },
    "the-seventh-parts-classes": {  # seen-6, measured then fixed
        "skills/greet-user/examples/output.md": "See [the spec](../spec.md).\n",
        "commands/hello.md": HELLO + "\nHandlers: `corpus-plugin:handler-{platform}`. "
        'Spawn with subagent_type: "agent-name".\n',
        "agents/borrower.md": "---\nname: borrower\ndescription: U.\nskills: other:ctx\n---\n",
    },
    "a-skill-description-over-1024-characters": {  # the CLI loads it (measured: seen-5)
        "skills/greet-user/SKILL.md": edit(
            SKILL, "description: Greets", "description: " + "x" * 1250 + " Greets"
        )
    },
    "a-skill-of-a-plugin-beside-it-and-a-placeholder": {
        "../other/.claude-plugin/plugin.json": '{"name": "other"}',
        "../other/skills/shared-skill/SKILL.md": "---\nname: shared-skill\ndescription: d\n---\n",
        "../.claude-plugin/marketplace.json": json.dumps(
            {
                "name": "m",
                "owner": {"name": "o"},
                "plugins": [
                    {"name": "corpus-plugin", "source": "./plugin"},
                    {"name": "other", "source": "./other"},
                ],
            }
        ),
        "agents/borrower.md": "---\nname: borrower\ndescription: U.\nskills: shared-skill\n---\n",
        "commands/hello.md": HELLO + "\nWrite `Skill(name)` or `Skill(skill-name)` to load one.\n",
    },
    "a-slot-in-a-path-is-a-pattern": {
        "skills/greet-user/references/more.md": "See [tier](tier-{tier_id}.md). Read "
        "`${CLAUDE_PLUGIN_ROOT}/agents/<role>.md`; for `${CLAUDE_PLUGIN_ROOT}/path`, use path.\n"
    },
    "a-citation-in-brackets-is-no-link": {
        "commands/hello.md": HELLO + "\nAs shown [1](Juzek, 2024) and [2](see below).\n"
    },
    "a-footnote-is-no-link-definition": {
        "commands/hello.md": HELLO + '\nClaimed.[^8]\n\n[^8]: ["10 Ways"](https://example.com).\n'
    },
    **{f"frontmatter-{k}": {"commands/hello.md": v} for k, v in FRONTMATTER_THE_CLI_READS.items()},
    "a-tool-named-in-bang-brace-notation": {
        "commands/hello.md": HELLO + "\nCheck: !{bash ls -la src/}, then !{skill greet-user}\n"
    },
    "space-separated-allowed-tools": {
        "commands/hello.md": edit(
            HELLO,
            "allowed-tools: Bash(git status:*), Read",
            "allowed-tools: Bash(git status:*) Read Grep",
        )
    },
    "basedir-and-skill-dir-links-from-a-reference": {
        "skills/greet-user/references/more.md": "See [the skill]({baseDir}/SKILL.md) and "
        "[again](${CLAUDE_SKILL_DIR}/SKILL.md).\n"
    },
    "subagent-type-as-the-agent-tool-folds-it": {
        "commands/hello.md": HELLO + '\nsubagent_type: "Corpus-Plugin:Helper"\n'
    },
    "no-manifest": {".claude-plugin/plugin.json": None},
    "manifest-without-license": {".claude-plugin/plugin.json": '{\n  "name": "corpus-plugin"\n}\n'},
    "tab-indented-yaml": {
        "commands/hello.md": edit(
            HELLO, "argument-hint: <name>", "argument-hint: <name>\nmetadata:\n\tteam: db"
        )
    },
    "colon-in-a-value": {
        "skills/greet-user/SKILL.md": edit(
            SKILL, "description: Greets", "description: Greets: politely"
        )
    },
    "marketplace-keys-the-cli-knows": {
        ".claude-plugin/marketplace.json": edit(
            market(),
            '"owner"',
            '"displayName": "M",\n  "renames": {},\n  "description": "d",\n'
            '  "version": "1",\n  "owner"',
        ).replace(
            '{"name": "corpus-plugin", "source": "./"}',
            '{"name": "corpus-plugin", "source": "./", "displayName": "C", "skills": ["./skills"],'
            ' "lspServers": {}}',
        )
    },
    "exec-form-hooks-also-for-skill-shell-lines": {
        "hooks/hooks.json": json.dumps(
            {
                "hooks": {
                    event: [{"matcher": "Bash", "hooks": [EXEC_HOOK]}]
                    for event in ("PreToolUse", "PreSkillShellCommand")
                }
            }
        )
    },
    "engines-and-network-hosts": {
        ".claude-plugin/plugin.json": json.dumps(
            {
                "name": "corpus-plugin",
                "version": "1.0.0",
                "description": "A plugin of the corpus.",
                "author": {"name": "corpus"},
                "engines": {"claude-code": ">=2.1.328 <3", "node": ">=18"},
                "network": {"hosts": ["pypi.org", "*.supabase.co", "localhost:5432", "[::1]"]},
            }
        )
    },
    "marketplace-entry-with-relevance-and-manifest-keys": {
        ".claude-plugin/marketplace.json": json.dumps(
            {
                "name": "corpus-market",
                "description": "A marketplace of the corpus.",
                "owner": {"name": "o"},
                "plugins": [
                    {
                        "name": "corpus-plugin",
                        "source": "./",
                        "engines": {"claude-code": "^2.1"},
                        "metadata": {"origin": "x"},
                        "relevance": {
                            "topic": "FastAPI databases",
                            "signals": {
                                "manifestDeps": [{"file": "pyproject", "pattern": "fastapi"}]
                            },
                        },
                    }
                ],
            }
        )
    },
}

# what the CLI of the pin reports too: overlay, the finding (path:line: [rule]), the CLI's words
HOOKS_JSON = '{"hooks": {"PreToolUse": [{"hooks": [{"type": "command", "command": "true"}]}]}}'
FLAGGED_NEW = {
    "a-user-config-key-that-is-no-identifier": (
        {
            ".claude-plugin/plugin.json": edit(
                MANIFEST,
                '"license": "MIT"',
                '"license": "MIT",\n  "userConfig": {"api-key": {"type": "string", "title": "K",'
                ' "description": "d"}}',
            )
        },
        ".claude-plugin/plugin.json:7: [manifest-schema] userConfig: 'api-key' does not match",
        "userConfig.api-key: Invalid key in record",
    ),
    "a-channel-field-without-type-or-title": (
        {
            ".claude-plugin/plugin.json": edit(
                MANIFEST,
                '"license": "MIT"',
                '"license": "MIT",\n  "mcpServers": {"db": {"command": "uvx"}},\n  "channels": '
                '[{"server": "db", "userConfig": {"url": {"description": "d"}}}]',
            )
        },
        ".claude-plugin/plugin.json:8: [manifest-schema] channels.0.userConfig.url: 'title'",
        "channels.0.userConfig.url.title: Invalid input",
    ),
    "an-agent-links-a-skill-s-reference-from-its-own-folder": (
        {"agents/helper.md": HELPER + "\nSee [phrases](references/phrases.md).\n"},
        "agents/helper.md:11: [link-dangling] link 'references/phrases.md' points to nothing "
        "(links resolve from agents/); the plugin has a file of that name: "
        "skills/greet-user/references/phrases.md",
        "",
    ),
    "a-link-without-its-suffix": (
        {"skills/greet-user/references/more.md": "See [phrases](phrases).\n"},
        "skills/greet-user/references/more.md:1: [link-dangling]",
        "",
    ),
    "a-link-from-a-skill-to-a-file-of-neither-base": (
        {"skills/greet-user/references/more.md": "See [plan](../docs/plan.md).\n"},
        "skills/greet-user/references/more.md:1: [link-missing]",
        "",
    ),
    "a-folder-with-no-manifest-and-no-skill": (
        {".claude-plugin/plugin.json": None, "skills/greet-user/SKILL.md": None},
        ".:1: [manifest-missing]",
        "--profile directory needs a plugin folder",
    ),
    "plugin-json-at-the-top": (
        {".claude-plugin/plugin.json": None, "plugin.json": MANIFEST},
        ".:1: [manifest-missing] no .claude-plugin/plugin.json (plugin.json is at the top",
        "--profile directory needs a plugin folder",
    ),
    "a-marketplace-version-as-a-number": (
        {".claude-plugin/marketplace.json": edit(market(), '"owner"', '"version": 1,\n  "owner"')},
        ".claude-plugin/marketplace.json:3: [marketplace-schema]",
        "expected string, received number",
    ),
    "an-mcp-server-without-a-command": (
        {".mcp.json": '{\n  "mcpServers": {\n    "db": {"args": ["serve"]}\n  }\n}\n'},
        ".mcp.json:3: [mcp-server]",
        "expected string, received undefined",
    ),
    "a-marketplace-name-read-as-claudes": (
        {".claude-plugin/marketplace.json": market(name="claude-plugins-public")},
        ".claude-plugin/marketplace.json:2: [marketplace-name-impersonation]",
        "impersonates",
    ),
    "mcp-servers-file-missing": (
        {
            ".claude-plugin/plugin.json": edit(
                MANIFEST, '"name"', '"mcpServers": "./.mcp.json",\n  "name"'
            )
        },
        ".claude-plugin/plugin.json:2: [component-path]",
        "Path not found",
    ),
    "skills-entry-a-file": (
        {
            ".claude-plugin/plugin.json": edit(
                MANIFEST, '"name"', '"skills": ["./skills/greet-user/SKILL.md"],\n  "name"'
            )
        },
        ".claude-plugin/plugin.json:2: [component-path]",
        "Path is a file",
    ),
    "a-hook-event-outside-hooks": (
        {"hooks/hooks.json": '{\n  "PreToolUse": [{"hooks": []}],\n  "hooks": {}\n}\n'},
        "hooks/hooks.json:2: [hooks-schema]",
        "outside the",
    ),
    "author-as-a-string": (
        {".claude-plugin/plugin.json": edit(MANIFEST, '{"name": "maintainers"}', '"maintainers"')},
        ".claude-plugin/plugin.json:5: [manifest-schema]",
        "expected object, received string",
    ),
    "hooks-json-with-a-byte-order-mark": (
        {"hooks/hooks.json": ("\ufeff" + HOOKS_JSON).encode("utf-8")},
        "hooks/hooks.json:1: [json-invalid]",
        "JSON Parse error",
    ),
    "agents-listing-a-folder": (
        {
            ".claude-plugin/plugin.json": edit(
                MANIFEST, '"name"', '"agents": ["./agents"],\n  "name"'
            )
        },
        ".claude-plugin/plugin.json:2: [component-path]",
        'must end with ".md"',
    ),
    "hooks-path-out-of-the-plugin": (
        {
            ".claude-plugin/plugin.json": edit(
                MANIFEST, '"name"', '"hooks": "../hooks.json",\n  "name"'
            ),
            "../hooks.json": HOOKS_JSON,
        },
        ".claude-plugin/plugin.json:2: [component-path]",
        "path traversal",
    ),
    "exec-form-args-not-a-list": (
        {
            "hooks/hooks.json": hooks().replace(
                '"type": "command",', '"type": "command", "args": "-S",'
            )
        },
        "hooks/hooks.json:7: [hooks-schema]",
        "args",
    ),
    "exec-form-path-missing": (
        {
            "hooks/hooks.json": json.dumps(
                {
                    "hooks": {
                        "PreToolUse": [
                            {"hooks": [EXEC_HOOK | {"args": ["${CLAUDE_PLUGIN_ROOT}/no where.py"]}]}
                        ]
                    }
                }
            )
        },
        "hooks/hooks.json:1: [hooks-command-path]",
        None,  # the CLI does not look
    ),
    "engines-not-a-range": (
        {
            ".claude-plugin/plugin.json": json.dumps(
                {"name": "corpus-plugin", "engines": {"claude-code": "latest"}}
            )
        },
        ".claude-plugin/plugin.json:1: [manifest-schema]",
        "Must be a version range",
    ),
    "network-host-with-a-scheme": (
        {
            ".claude-plugin/plugin.json": json.dumps(
                {"name": "corpus-plugin", "network": {"hosts": ["https://pypi.org/simple"]}}
            )
        },
        ".claude-plugin/plugin.json:1: [manifest-schema]",
        "Must be a host",
    ),
    "a-bare-source-without-plugin-root": (
        {
            ".claude-plugin/marketplace.json": market().replace(
                "  ]\n", '  ,{"name": "inner", "source": "inner"}]\n'
            ),
            "plugins/inner/.claude-plugin/plugin.json": '{"name": "inner"}',
        },
        ".claude-plugin/marketplace.json:6: [marketplace-source]",
        "requires metadata.pluginRoot",
    ),
    "a-guard-hook-outside-hooks": (
        {
            ".claude-plugin/plugin.json": json.dumps(
                {
                    "name": "corpus-plugin",
                    "settings": {"PreToolUse": [{"matcher": "Bash", "hooks": []}]},
                }
            )
        },
        ".claude-plugin/plugin.json:1: [manifest-schema]",
        'declared at the top level outside "hooks"',
    ),
    "a-theme-declared-at-the-top-level": (
        {
            ".claude-plugin/plugin.json": json.dumps({"name": "corpus-plugin", "themes": "./t"}),
            "t/dark.json": "{}",
        },
        ".claude-plugin/plugin.json:1: [manifest-schema]",
        "is an experimental component",
    ),
    "metadata-that-is-no-object": (
        {".claude-plugin/plugin.json": json.dumps({"name": "corpus-plugin", "metadata": "x"})},
        ".claude-plugin/plugin.json:1: [manifest-schema]",
        "must be a free-form object",
    ),
    "a-listing-link-that-is-not-https": (
        {
            ".claude-plugin/plugin.json": json.dumps(
                {"name": "corpus-plugin", "privacyPolicyUrl": "http://example.com/privacy"}
            )
        },
        ".claude-plugin/plugin.json:1: [manifest-schema]",
        "LISTING_URL_SCHEME",
    ),
    "an-entry-version-that-plugin-json-overrides": (
        {
            ".claude-plugin/marketplace.json": market().replace(
                '"source": "./"}', '"source": "./", "version": "9.9.9"}'
            )
        },
        ".claude-plugin/marketplace.json:5: [marketplace-source]",
        "plugin.json wins",
    ),
    "entry-optional-dependencies-that-plugin-json-overrides": (
        {
            ".claude-plugin/marketplace.json": market().replace(
                '"source": "./"}', '"source": "./", "optionalDependencies": ["other"]}'
            )
        },
        ".claude-plugin/marketplace.json:5: [marketplace-source]",
        "the entry's list is ignored",
    ),
    "entry-headers-without-an-archive-source": (
        {
            ".claude-plugin/marketplace.json": market().replace(
                '"source": "./"}', '"source": "./", "headers": {"X-Token": "t"}}'
            )
        },
        ".claude-plugin/marketplace.json:5: [marketplace-schema]",
        'only apply to "archive" sources',
    ),
    "relevance-without-signals": (
        {
            ".claude-plugin/marketplace.json": market().replace(
                '{"name": "corpus-plugin", "source": "./"}',
                '{"name": "corpus-plugin", "source": "./", "relevance": {"topic": "T"}}',
            )
        },
        ".claude-plugin/marketplace.json:5: [marketplace-schema]",
        "signals",
    ),
}


@pytest.mark.parametrize("case", sorted(FLAGGED_NEW))
def test_flags_what_the_cli_reports_in_its_new_fields(tmp_path: Path, case: str) -> None:
    overlay, expected, _ = FLAGGED_NEW[case]
    found = [str(f) for f in validate.run(build(tmp_path, overlay), every=True)]
    assert any(f.startswith(expected) for f in found), found


@pytest.mark.parametrize("case", sorted(ACCEPTED))
def test_accepts_what_the_cli_loads(tmp_path: Path, case: str) -> None:
    assert [str(f) for f in validate.run(build(tmp_path, ACCEPTED[case]), every=True)] == []


def pinned_cli(tmp_path: Path, root: Path, *profile: str) -> str:
    """`claude plugin validate --strict` on `root`; `profile` adds e.g. `--profile directory`
    (the gate's own, which takes only a folder with a manifest or a skills-only one)."""
    claude = ROOT / ".tools" / "node_modules" / ".bin" / "claude"
    if not claude.exists():
        need_server("Claude Code CLI", "run scripts/bootstrap.sh (npm installs it into .tools)")
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "CLAUDE_"))}
    done = subprocess.run(
        [str(claude), "plugin", "validate", "--strict", *profile, "."],
        cwd=root,
        env=env | {"HOME": str(home), "CI": "true", "NO_COLOR": "1"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done.stdout + done.stderr


@pytest.mark.parametrize("case", sorted(c for c in FLAGGED_NEW if FLAGGED_NEW[c][2]))
def test_the_pinned_cli_reports_them_too(tmp_path: Path, case: str) -> None:
    overlay, _, words = FLAGGED_NEW[case]
    profile = ("--profile", "directory") if words.startswith("--profile") else ()
    assert words in pinned_cli(tmp_path, build(tmp_path, overlay), *profile)


@pytest.mark.parametrize(
    "case",
    [
        *(f"frontmatter-{k}" for k in FRONTMATTER_THE_CLI_READS),
        "exec-form-hooks-also-for-skill-shell-lines",
        "engines-and-network-hosts",
        "marketplace-entry-with-relevance-and-manifest-keys",
        "an-author-with-a-key-of-its-own",
        "a-skill-description-over-1024-characters",
        "a-marketplace-name-with-dots",
        "keys-written-with-no-value",
        "a-skill-s-license-and-compatibility-as-maps",
        "a-marketplace-source-of-dot-and-a-calendar-version",
        "a-skill-s-disallowed-tools-and-an-owner-s-contact",
        "a-channel-and-user-config-fields",
        "a-bare-source-under-plugin-root",
    ],
)
def test_the_pinned_cli_takes_the_new_fields(tmp_path: Path, case: str) -> None:
    output = pinned_cli(tmp_path, build(tmp_path, ACCEPTED[case]))
    own_checks = output.split("Plugin directory checks")[0]  # not the catalog's (README, icon)
    assert "Validation passed" in output and "Found" not in own_checks, output


def test_the_gate_s_profile_takes_a_skills_only_folder(tmp_path: Path) -> None:
    output = pinned_cli(
        tmp_path, build(tmp_path, ACCEPTED["a-skills-only-folder"]), "--profile", "directory"
    )
    assert "Plugin directory checks" in output and "needs a plugin folder" not in output, output


def test_marketplace_names_read_as_claudes_as_the_cli_reads_them(tmp_path: Path) -> None:
    """Over names generated from the words the CLI's test turns on (and others), the rule and
    the pinned CLI agree on each: refused as an official-looking name, or not."""
    seed = int(os.environ.get("NAMES_SEED") or random.SystemRandom().randrange(10**6))
    rng = random.Random(seed)
    marks = ["claude", "anthropic", "Claude", "official", "my", "db"]
    words = ["official", "plugins", "marketplace", "directory", "directories", "claude", "tools"]
    words += ["public", "dev", "plugin", "code", "x1", "anthropic"]
    names = {"Claude_Official-Tools", "tools-that-claude-uses"}  # one of each, whatever the draw
    for _ in range(32):
        parts = [rng.choice(marks)] + [rng.choice(words) for _ in range(rng.randint(0, 2))]
        if rng.random() < 0.3:
            rng.shuffle(parts)
        names.add("".join(p + rng.choice(["-", "_", ".", ""]) for p in parts[:-1]) + parts[-1])
    names = sorted(n for n in names if n.lower() not in load_facts()["reserved_marketplace_names"])

    def cli_says(index_name):
        index, name = index_name
        folder = tmp_path / f"m{index}"
        (folder / ".claude-plugin").mkdir(parents=True)
        (folder / ".claude-plugin" / "marketplace.json").write_text(
            json.dumps({"name": name, "owner": {"name": "o"}, "plugins": []})
        )
        return "impersonates" in pinned_cli(tmp_path, folder)

    with ThreadPoolExecutor(8) as pool:
        said = list(pool.map(cli_says, enumerate(names)))
    ours = [impersonates(n) for n in names]
    assert any(said) and not all(said), (seed, list(zip(names, said, strict=True)))
    assert ours == said, (
        seed,
        [(n, o, c) for n, o, c in zip(names, ours, said, strict=True) if o != c],
    )


def test_a_pattern_under_the_plugin_root_that_matches_nothing(tmp_path: Path) -> None:
    entry = "Bash(${CLAUDE_PLUGIN_ROOT}/scripts/*.sh:*)"
    overlay = {"commands/hello.md": edit(HELLO, "Read", f"Read, {entry}"), "scripts/a.py": "1\n"}
    found = [str(f) for f in validate.run(build(tmp_path, overlay))]
    assert found == [
        "commands/hello.md:4: [plugin-root-path] ${CLAUDE_PLUGIN_ROOT}/scripts/*.sh matches no "
        "file of the plugin"
    ], found


def test_a_link_to_a_name_the_plugin_has_nowhere_is_reported_only_when_asked(
    tmp_path: Path,
) -> None:
    """A sample of output (a document set's cross-references, a README's links) and a file
    never written read alike: link-missing runs with --all, not in the gate."""
    root = build(tmp_path, {"commands/hello.md": HELLO + "\nSee [Architecture](04-arch.md).\n"})
    assert validate.run(root) == []
    found = [str(f) for f in validate.run(root, every=True)]
    assert found == [
        "commands/hello.md:12: [link-missing] link '04-arch.md' points to no file of the plugin "
        "(links resolve from commands/): write the file, or mark the link as an example"
    ], found
    assert cli(root).returncode == 0 and cli(root, "--all").returncode == 1


def test_a_link_is_reported_on_its_own_line(tmp_path: Path) -> None:
    """Inside a paragraph, a list item or after a code span, the line is the link's, not the
    first line of its block."""
    body = (
        "\nA paragraph that runs\nover lines, with `[x](code.md)` in code\nand [a link](gone-1.md)"
        " here.\n\n- an item\n  that wraps to [another](gone-2.md)\n\n"
        "```\n[x](in-a-fence.md)\n```\n[label]: gone-3.md\n"
    )
    found = validate.run(build(tmp_path, {"commands/hello.md": HELLO + body}), every=True)
    start = HELLO.count("\n") + 1  # the blank line that opens `body`
    lines = {f.message.split("'")[1]: f.line - start for f in found if f.rule == "link-missing"}
    assert lines == {"gone-1.md": 3, "gone-2.md": 6, "gone-3.md": 11}, lines


def mutations(rng: random.Random, key: str) -> str:
    """`key` with one slip: a letter left out, doubled, swapped or changed, a case or a
    separator changed."""
    i = rng.randrange(len(key))
    return (
        rng.choice(
            [
                key[:i] + key[i + 1 :],
                key[:i] + key[i] + key[i:],
                key[:i] + key[i + 1 : i + 2] + key[i : i + 1] + key[i + 2 :],
                key[:i] + rng.choice("aeiorstx") + key[i + 1 :],
                key.lower(),
                key.replace("-", "_") if "-" in key else key[:i] + "-" + key[i:],
                key + rng.choice(["s", "_x", "Mode"]),
            ]
        ).strip("-_")
        or key
    )


def test_agent_keys_are_hinted_as_the_cli_hints_them(tmp_path: Path, claude: str) -> None:
    """Generated keys in a plugin agent's frontmatter: the ones we report, and the key we
    suggest, are the ones the pinned CLI's load warning names with a "did you mean" (read
    from its --debug log, offline: it loads plugins before it asks for a login)."""
    seed = int(os.environ.get("AGENT_KEYS_SEED") or random.randrange(1 << 30))
    rng = random.Random(seed)
    facts_ = load_facts()
    pool = facts_["agent_keys"] + facts_["frontmatter_keys"] + ["whenToUse", "allowedTools"]
    keys = {mutations(rng, rng.choice(pool)) for _ in range(60)}
    keys |= {rng.choice(pool) for _ in range(8)} | {"mode", "tags", "owner", "whenToUse"}
    keys |= {"allowed-tools"}  # two the CLI always hints: the comparison is never empty
    keys -= {"name", "description", "hooks", "mcpServers", "tools"}
    keys = sorted(k for k in keys if k[0].isalpha())
    agents = {}  # five keys to an agent: the CLI's warning names five, then "and N more"
    for n in range(0, len(keys), 5):
        body = "".join(f"{k}: x\n" for k in keys[n : n + 5])
        agents[f"agents/k{n}.md"] = f"---\nname: k{n}\ndescription: Use for {n}.\n{body}---\nHi\n"
    root = build(tmp_path, agents)
    ours = {
        (f.rel, f.message.split("'")[1]): f.message.split("'")[3]
        for f in validate.run(root, only={"frontmatter-unknown-key"})
    }
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "CLAUDE_"))}
    for attempt in range(3):  # it may stop at "Not logged in" before every agent is loaded
        home = tmp_path / f"home{attempt}"
        home.mkdir()
        subprocess.run(
            [claude, "--debug", "-p", "hi", "--plugin-dir", str(root)],
            cwd=root,
            env=env | {"HOME": str(home), "CI": "true", "NO_COLOR": "1"},
            capture_output=True,
            timeout=120,
        )
        logs = "".join(p.read_text() for p in (home / ".claude" / "debug").glob("*.txt"))
        if "Total plugin agents loaded" in logs:
            break
    assert "Total plugin agents loaded" in logs, f"seed {seed}: the CLI loaded no agents"
    said, warned = {}, set()
    for found in re.finditer(
        r"agent file \S+/(agents/k\d+\.md) has (?:a )?frontmatter keys?.*", logs
    ):
        warned.add(found[1])
        for key, meant in re.findall(r'"([^"]+)" \(did you mean "([^"]+)"\?\)', found[0]):
            said[(found[1], key)] = meant
    assert "more" not in "".join(re.findall(r"and \d+ more", logs)), "a warning was cut short"
    unwarned = {rel for rel, _ in ours} - warned
    assert not unwarned, (f"seed {seed}: the CLI did not warn in", unwarned, logs[-3000:])
    assert ours == said, (f"seed {seed}", sorted(set(ours.items()) ^ set(said.items())))
    assert len(said) >= 2, (f"seed {seed}: too few hints to compare", said)
