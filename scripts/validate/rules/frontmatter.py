"""Frontmatter of commands, skills and agents, as Claude Code's loader reads it."""

from __future__ import annotations

import re

from ..facts import load
from ..model import Finding, Plugin, Prompt
from . import rule
from .manifest import schema_findings

TOOL = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(\((.*)\))?", re.S)


@rule(
    "frontmatter-missing",
    "skills and agents need a frontmatter with a description",
    kinds=("skill", "agent"),
)
def frontmatter_missing(plugin: Plugin, prompt: Prompt):
    if not prompt.has_frontmatter and not prompt.unparsed:
        message = (
            f"no frontmatter: a {prompt.kind} starts with a line '---', its YAML keys "
            "(description: ...), and a closing '---'"
        )
        yield Finding(prompt.rel, 1, "frontmatter-missing", message)


@rule("frontmatter-type", "values of the wrong type are dropped or break loading")
def frontmatter_types(plugin: Plugin, prompt: Prompt):
    if prompt.has_frontmatter and not prompt.unparsed:
        meta = {k: v for k, v in prompt.meta.items() if k in load()["frontmatter_keys"]}
        lines = lambda path: prompt.line_of(str(path[0])) if path else 2  # noqa: E731
        yield from schema_findings(
            None, meta, f"{prompt.kind}.schema.json", "frontmatter-type", prompt.rel, lines
        )


@rule("frontmatter-unknown-key", "keys outside the loader's list are ignored")
def unknown_keys(plugin: Plugin, prompt: Prompt):
    known = load()["frontmatter_keys"]
    for key in prompt.meta:
        if key not in known:
            message = f"unknown key {key!r}: Claude Code ignores it (a typo of a known key?)"
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
        items = split_tools(value) if isinstance(value, str) else value
        for item in items if isinstance(items, list) else []:
            yield key, str(item).strip()


def split_tools(value: str) -> list[str]:
    """A comma list of tools, keeping commas inside Bash(...) patterns."""
    items, depth, current = [], 0, ""
    for char in value:
        depth += {"(": 1, ")": -1}.get(char, 0)
        depth = max(depth, 0)
        if char == "," and depth == 0:
            items.append(current.strip())
            current = ""
        else:
            current += char
    items.append(current.strip())
    return [i for i in items if i]


@rule(
    "skill-description",
    "the CLI's schema caps a skill description at 1024 characters",
    kinds=("skill",),
)
def skill_description(plugin: Plugin, prompt: Prompt):
    description = prompt.meta.get("description")
    if isinstance(description, str) and len(description) > 1024:
        message = f"description has {len(description)} characters; the limit is 1024"
        yield Finding(prompt.rel, prompt.line_of("description"), "skill-description", message)
