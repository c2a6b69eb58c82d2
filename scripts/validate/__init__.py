"""Validate a Claude Code plugin, agreeing with the pinned Claude Code CLI: accept what it
accepts and loads, flag what it or the runtime breaks on.

    facts.py     what Claude Code knows (tools, frontmatter keys, models, reserved names),
                 re-read from the pinned CLI into schemas/claude-code.json
    read.py      reading files as the CLI does (frontmatter split and YAML retry), safely
    model.py     Plugin, Prompt, Json, Finding
    rules/       one function per rule, registered with an id (rules.RULES)
    engine.py    read once, run every rule
    cli.py       python scripts/validate [--all] [PLUGIN_DIR] | rules | facts [--write]
"""

from .engine import read_plugin, run
from .model import Finding
from .rules import RULES

__all__ = ["RULES", "Finding", "read_plugin", "run"]
