"""Frontmatter of commands, skills and agents, as Claude Code's loader reads it."""

from __future__ import annotations

import re

from ..facts import load
from ..model import Finding, Plugin, Prompt
from . import rule
from .manifest import load_schema, schema_findings

TOOL = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(\((.*)\))?", re.S)


@rule(
    "frontmatter-missing",
    "skills and agents need a frontmatter with a description",
    kinds=("skill", "agent"),
)
def frontmatter_missing(plugin: Plugin, prompt: Prompt):
    if not prompt.has_frontmatter and not prompt.unparsed:
        article = "an" if prompt.kind[0] in "aeiou" else "a"
        message = (
            f"no frontmatter: {article} {prompt.kind} starts with a line '---', its YAML keys "
            "(description: ...), and a closing '---'"
        )
        yield Finding(prompt.rel, 1, "frontmatter-missing", message)


@rule("frontmatter-type", "values of the wrong type are dropped or break loading")
def frontmatter_types(plugin: Plugin, prompt: Prompt):
    if prompt.has_frontmatter and not prompt.unparsed:
        required = set(load_schema(f"{prompt.kind}.schema.json").get("required", []))
        meta = {
            k: v
            for k, v in prompt.meta.items()
            if k in load()["frontmatter_keys"] and (v is not None or k in required)
        }  # `argument-hint:` with no value: the loader takes it as not given (checked)
        lines = lambda path: prompt.line_of(str(path[0])) if path else 2  # noqa: E731
        yield from schema_findings(
            None, meta, f"{prompt.kind}.schema.json", "frontmatter-type", prompt.rel, lines
        )


def agent_hint(key: str) -> str | None:
    """The key the CLI suggests for a plugin agent's key it does not apply, as its own load
    warning does ("... does not recognize or apply: "whenToUse" (did you mean
    "description"?)"): its hint map first, then the same letters without - and _, then the
    nearest key two edits away at most; None for a key it applies or has no hint for."""
    facts = load()
    known = facts["agent_keys"] + facts["agent_keys_plugin_extra"]
    if key in known:
        return None
    fold = key.replace("-", "").replace("_", "").lower()
    if fold in facts["agent_key_hints"]:
        return facts["agent_key_hints"][fold]
    dropped = facts["agent_keys_ignored_for_plugins"]  # never suggested (agent-key-ignored)
    known = [k for k in known if k not in dropped]
    same = [k for k in known if k.replace("-", "").replace("_", "").lower() == fold]
    if same:
        return same[0]
    near = [(osa(key, k), i, k) for i, k in enumerate(known) if abs(len(k) - len(key)) <= 2]
    near = [n for n in near if n[0] <= 2]
    return min(near)[2] if near else None


def misspelt(key: str, by_fold: dict[str, str]) -> str | None:
    """The known key one typing slip away (a letter left out, added, changed or two swapped),
    for keys of eight letters or more: shorter ones are more often words of their own
    (`command` is not `commands`)."""
    if len(key) < 8:
        return None
    for fold, known in by_fold.items():
        if abs(len(fold) - len(key)) <= 1 and slips(key, fold) <= 1:
            return known
    return None


def slips(a: str, b: str) -> int:
    """Edit distance with swaps of neighbours, capped at 2."""
    return min(osa(a, b), 2)


def osa(a: str, b: str) -> int:
    """Edit distance with swaps of neighbours (optimal string alignment), as the CLI's."""
    rows = [list(range(len(b) + 1))]
    for i, x in enumerate(a, 1):
        row = [i]
        for j, y in enumerate(b, 1):
            row.append(min(rows[-1][j] + 1, row[j - 1] + 1, rows[-1][j - 1] + (x != y)))
            if i > 1 and j > 1 and x == b[j - 2] and a[i - 2] == y:
                row[j] = min(row[j], rows[-2][j - 2] + 1)
        rows.append(row)
    return rows[-1][-1]


def folded_key(key: str) -> str:
    return re.sub(r"[-_\s]", "", key.lower())


@rule("frontmatter-unknown-key", "a key that looks like a known one misspelled is ignored")
def unknown_keys(plugin: Plugin, prompt: Prompt):
    """Claude Code ignores keys it does not know, so a plugin's own metadata (`origin`,
    `capabilities`) is fine; a misspelling of a key it knows (`allowed_tools`, `descripton`)
    silently loses that setting, and that is what is reported."""
    known = sorted({*load()["frontmatter_keys"], *load()["skill_keys"]})  # the CLI's lists
    by_fold = {folded_key(k): k for k in known}
    for key in prompt.meta:
        if prompt.kind == "agent":
            meant = agent_hint(key)
        elif key in known:
            continue
        else:
            meant = by_fold.get(folded_key(key)) or misspelt(folded_key(key), by_fold)
        if meant is not None:
            message = f"unknown key {key!r}: Claude Code ignores it; did you mean {meant!r}?"
            yield Finding(prompt.rel, prompt.line_of(key), "frontmatter-unknown-key", message)


@rule("agent-key-ignored", "keys Claude Code drops from plugin agents", kinds=("agent",))
def agent_keys_ignored(plugin: Plugin, prompt: Prompt):
    for key in load()["agent_keys_ignored_for_plugins"]:
        if key in prompt.meta:
            message = (
                f"{key} is ignored for plugin agents (Claude Code applies it only to "
                ".claude/agents/); remove it"
            )
            yield Finding(prompt.rel, prompt.line_of(key), "agent-key-ignored", message)


@rule("model-unknown", "a model that is no alias nor model id fails when the prompt runs")
def model_unknown(plugin: Plugin, prompt: Prompt):
    model, facts = prompt.meta.get("model"), load()
    if not isinstance(model, str) or model.strip().lower() in facts["model_aliases"]:
        return
    if re.match(facts["model_id_pattern"], model.strip()):
        return
    aliases = ", ".join(facts["model_aliases"])
    message = f"model {model!r} is not one of {aliases} nor a model id such as claude-sonnet-4-5"
    yield Finding(prompt.rel, prompt.line_of("model"), "model-unknown", message)


@rule("tool-unknown", "tool names the permission rules do not know are never granted")
def tool_unknown(plugin: Plugin, prompt: Prompt):
    facts = load()
    known = set(facts["tools"]) | set(facts["tool_aliases"])
    for key, item in tool_entries(prompt):
        match = TOOL.fullmatch(item)
        name = match.group(1) if match else item
        if not name.startswith("mcp__") and name not in known:
            message = f"{key}: {item[:80]!r} is not a tool of Claude Code {facts['cli_version']}"
            yield Finding(prompt.rel, prompt.line_of(key), "tool-unknown", message)


@rule("tool-empty-pattern", "Bash() with an empty pattern permits nothing")
def tool_empty_pattern(plugin: Plugin, prompt: Prompt):
    for key, item in tool_entries(prompt):
        match = TOOL.fullmatch(item)
        if match and match.group(2) is not None and not match.group(3).strip():
            message = f"{key}: {item!r} has an empty pattern; write Bash(git status:*) or Bash"
            yield Finding(prompt.rel, prompt.line_of(key), "tool-empty-pattern", message)


def tool_entries(prompt: Prompt):
    for key in ("tools", "disallowedTools", "allowed-tools", "disallowed-tools"):
        value = prompt.meta.get(key)
        values = [value] if isinstance(value, str) else value
        if isinstance(values, list):
            for item in split_tools([v for v in values if isinstance(v, str)]):
                yield key, item


def split_tools(value) -> list[str]:
    """Tool names as Claude Code splits them: on commas and spaces outside the parentheses of
    a pattern (`Bash(git diff:*)`), each string of a list alike."""
    items = []
    for text in [value] if isinstance(value, str) else value:
        current, inside = "", False
        for char in text or "":
            if char in "()":
                inside = char == "("
                current += char
            elif char in ", " and not inside:
                if current.strip():
                    items.append(current.strip())
                current = ""
            elif current or char.strip():
                current += char
        if current.strip():
            items.append(current.strip())
    return items
