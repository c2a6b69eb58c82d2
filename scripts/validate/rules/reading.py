"""What reading the files found: each kind under its own id (engine.read_plugin reads)."""

from __future__ import annotations

from ..model import Plugin
from . import rule


def reported(plugin: Plugin, rule_id: str):
    return [f for f in plugin.early if f.rule == rule_id]


@rule("file-unreadable", "a file Claude Code cannot read is skipped", scope="plugin")
def file_unreadable(plugin: Plugin):
    return reported(plugin, "file-unreadable")


@rule("file-encoding", "prompts are read as UTF-8", scope="plugin")
def file_encoding(plugin: Plugin):
    return reported(plugin, "file-encoding")


@rule(
    "json-invalid",
    "a manifest or hooks file that is not a JSON object is not loaded",
    scope="plugin",
)
def json_invalid(plugin: Plugin):
    return reported(plugin, "json-invalid")


@rule(
    "frontmatter-yaml",
    "YAML the loader cannot read even after quoting values is dropped",
    scope="plugin",
)
def frontmatter_yaml(plugin: Plugin):
    return reported(plugin, "frontmatter-yaml")


@rule(
    "frontmatter-ends-early",
    "the loader ends the frontmatter at the first ---, even in a value",
    scope="plugin",
)
def frontmatter_ends_early(plugin: Plugin):
    return reported(plugin, "frontmatter-ends-early")
