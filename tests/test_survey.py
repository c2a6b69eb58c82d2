"""scripts/survey/: reading the CLI's report, classifying our findings by it, and finding the
plugin folders of a repository (in-process, on text and folders written here)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from conftest import ROOT

sys.path.insert(0, str(ROOT / "scripts"))
from survey import classify, cli, corpus, lines  # noqa: E402

# the shape of `claude plugin validate --strict --profile directory .` (2.1.332), written here
OUTPUT = """Validating marketplace manifest: {root}/.claude-plugin/marketplace.json

✘ Found 1 error:

  ❯ plugins[0].name: Duplicate plugin name "p" found in marketplace

Validating skill: {root}/skills/broken/SKILL.md

⚠ Found 1 warning:

  ❯ frontmatter: No frontmatter block found. Add YAML frontmatter between --- delimiters.

Provides:

  ❯ skills: p:greet
  ❯ commands: p:hello
  ❯ agents: p:reviewer

Hosts not read for: skills (1)

Plugin directory checks for {root}. The plugin directory is the catalog ...

⚠ Found 1 plugin directory warning:

  ❯ .claude-plugin/plugin.json icon: No icon (ICON_MISSING). No icon found in the plugin.
    Fix: Add a square PNG.

ℹ Advice (does not change the verdict):

  ❯ {root}/README.md: This README has no line that installs "p" from a marketplace.

✘ Validation failed
"""


def verdict(tmp_path: Path) -> cli.Verdict:
    return cli.parse(OUTPUT.format(root=tmp_path), tmp_path, 0.4)


def test_the_report_is_read_per_file_with_its_level(tmp_path: Path) -> None:
    found = verdict(tmp_path)
    assert not found.passed
    assert [(m.level, m.file, m.directory) for m in found.messages] == [
        ("error", ".claude-plugin/marketplace.json", False),
        ("warning", "skills/broken/SKILL.md", False),
        ("warning", ".claude-plugin/plugin.json", True),
    ]
    assert found.provides == {"skills: p:greet", "commands: p:hello", "agents: p:reviewer"}


def test_findings_are_classified_by_what_the_cli_does_with_their_file(tmp_path: Path) -> None:
    found = verdict(tmp_path)
    names = {"agents/review.md": "reviewer", "agents/gone.md": "gone"}
    assert classify.classify("skills/broken/SKILL.md", found, names) == classify.REPORTED
    assert classify.classify("commands/hello.md", found, names) == classify.LOADS
    assert classify.classify("agents/review.md", found, names) == classify.LOADS  # by its name
    assert classify.classify("agents/gone.md", found, names) == classify.FAILS
    assert classify.classify("skills/other/SKILL.md", found, names) == classify.FAILS
    # the directory's own checks (an icon) do not count as reporting a file's problem
    assert classify.classify(".claude-plugin/plugin.json", found, names) == classify.LOADS
    assert classify.missed(found, {"commands/hello.md"}) == [
        '.claude-plugin/marketplace.json: plugins[0].name: Duplicate plugin name "p" found in '
        "marketplace"
    ]


def test_plugin_folders_are_manifests_and_local_marketplace_sources(tmp_path: Path) -> None:
    def manifest(folder: str, name: str, data: dict) -> None:
        path = tmp_path / folder / ".claude-plugin" / name
        path.parent.mkdir(parents=True)
        path.write_text(json.dumps(data))

    manifest("", "marketplace.json", {
        "metadata": {"pluginRoot": "./plugins"},
        "plugins": [
            {"name": "a", "source": "./plugins/a"},  # from the marketplace's root
            {"name": "e", "source": "e"},  # a bare name: under pluginRoot
            {"name": "b", "source": {"source": "github", "repo": "o/b"}},
            {"name": "c", "source": "https://example.com/c.git"},
            {"name": "d", "source": "../../outside"},
        ],
    })  # fmt: skip
    (tmp_path / "plugins" / "a" / "commands").mkdir(parents=True)
    (tmp_path / "plugins" / "e" / "skills").mkdir(parents=True)
    manifest("tools/x", "plugin.json", {"name": "x"})
    manifest("backups/2025/tools/x", "plugin.json", {"name": "x"})  # a copy: not surveyed
    manifest("node_modules/y", "plugin.json", {"name": "y"})
    found = [p.relative_to(tmp_path).as_posix() for p in corpus.plugin_folders(tmp_path)]
    assert found == [".", "plugins/a", "plugins/e", "tools/x"]


def test_the_parts_are_disjoint_and_large_enough() -> None:
    parts = [set(repos) for repos in corpus.PARTS.values()]
    assert sum(map(len, parts)) == len(set().union(*parts)) >= 15
    assert len(corpus.HELD_OUT) >= 5
    assert corpus.part_of("laurigates/claude-plugins") == "seen-2"
    assert corpus.part_of("lazyants/claude-plugins") == "seen-3"
    assert corpus.part_of("adzuci/claude-plugins") == "seen-4"
    assert corpus.part_of("radleta/claude-plugins") == "seen-5"
    assert corpus.part_of("fractary/claude-plugins") == "seen-6"
    assert corpus.part_of("yoshiysh/claude-plugins") == "seen-7"
    assert corpus.part_of("noahlz/claude-plugins") == "seen-8"
    assert corpus.part_of("asermax/claude-plugins") == "seen-9"
    assert corpus.part_of("juanmhidalgo/claude-plugins") == "seen-10"
    assert corpus.part_of("thomfilg/claude-plugin-work") == "seen-11"
    assert corpus.part_of("ddaanet/claude-plugin-dev") == "seen-12"
    assert corpus.part_of("joestump/claude-plugin-sdd") == "seen-13"
    assert corpus.part_of("CoderCoco/claude-plugin-marketplace") == "seen-14"
    assert corpus.part_of("dapi/claude-code-marketplace") == "seen-15"
    assert corpus.part_of("noellch/noel-claude-code-marketplace") == "seen-16"
    assert corpus.part_of("jey3dayo/claude-code-marketplace") == "seen-17"
    assert corpus.part_of("tqer39/claude-code-marketplace") == "held-out"
    assert corpus.part_of("zxkane/aws-skills") == "seen"


def test_shell_lines_are_read_as_the_rule_reads_them(tmp_path: Path) -> None:
    """Each `!` line of a command or skill with its allowed-tools as written (a string or a
    list); a line in a fenced example, an agent's line and a `!` inside a word are not read."""
    (tmp_path / ".claude-plugin").mkdir()
    (tmp_path / ".claude-plugin" / "plugin.json").write_text('{"name": "p"}')
    (tmp_path / "commands").mkdir()
    (tmp_path / "commands" / "c.md").write_text(
        "---\ndescription: c\nallowed-tools: Bash(git status:*), Read\n---\n"
        "Status: !`git status`\n\n```bash\n!`rm -rf x`\n```\n\nNot!`this`\n",
        encoding="utf-8",
    )
    (tmp_path / "skills" / "s").mkdir(parents=True)
    (tmp_path / "skills" / "s" / "SKILL.md").write_text(
        "---\nname: s\ndescription: s\nallowed-tools:\n  - Bash(ls:*)\n---\nFiles: !`ls -la`\n",
        encoding="utf-8",
    )
    (tmp_path / "agents").mkdir()
    (tmp_path / "agents" / "a.md").write_text("---\nname: a\ndescription: a\n---\n!`pwd`\n")
    found = sorted(lines.shell_lines(tmp_path))
    assert found == [
        ("git status", "Bash(git status:*), Read", "command"),
        ("ls -la", ["Bash(ls:*)"], "skill"),
    ]


def test_what_the_cli_says_of_another_surveyed_folder_is_not_missed_here() -> None:
    """A marketplace's report repeats each listed plugin's errors, and a folder's report
    names files of plugin folders inside it: those count where that folder is surveyed."""
    said = cli.Verdict(
        passed=False,
        seconds=0.1,
        messages=[
            cli.Message("error", ".claude-plugin/marketplace.json", "plugins[3] plugin.json → x"),
            cli.Message("error", "skills/inner/hooks/hooks.json", "hooks: top level"),
            cli.Message("error", ".claude-plugin/marketplace.json", "name: impersonates"),
        ],
    )
    assert classify.missed(said, set(), ("skills/inner",)) == [
        ".claude-plugin/marketplace.json: name: impersonates"
    ]
