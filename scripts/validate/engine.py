"""Read a plugin once, then run every registered rule over it."""

from __future__ import annotations

import re
from pathlib import Path

from .model import Finding, Plugin, Prompt
from .read import (
    Unreadable,
    finding,
    parse_frontmatter,
    read_json,
    read_text,
    split_frontmatter,
    walk,
)
from .rules import RULES

NAME = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")


def read_plugin(root: Path) -> Plugin:
    plugin = Plugin(root=root, name=root.name)
    plugin.manifest = read_json_file(plugin, root / ".claude-plugin" / "plugin.json")
    if plugin.manifest and isinstance(plugin.manifest.data.get("name"), str):
        if NAME.fullmatch(plugin.manifest.data["name"]):
            plugin.name = plugin.manifest.data["name"]
    plugin.marketplace = read_json_file(plugin, root / ".claude-plugin" / "marketplace.json")
    hooks = plugin.manifest.data.get("hooks") if plugin.manifest else None
    plugin.hooks = read_json_file(
        plugin, root / (hooks if isinstance(hooks, str) else "hooks/hooks.json")
    )
    servers = plugin.manifest.data.get("mcpServers") if plugin.manifest else None
    mcp = root / (servers if isinstance(servers, str) else ".mcp.json")
    plugin.mcp = read_json_file(plugin, mcp) if mcp.is_file() else None
    for kind, path in prompt_paths(plugin):
        prompt = Prompt(kind, path, plugin.rel(path))
        if read_prompt(plugin, prompt):
            plugin.prompts.append(prompt)
    return plugin


def read_json_file(plugin: Plugin, path: Path):
    try:
        if not path.exists() and not path.is_symlink():
            return None
    except OSError as exc:  # a name too long for the file system
        message = f"cannot be read: {exc.strerror}; give a shorter path"
        plugin.early.append(Finding(plugin.rel(path)[:200], 1, "file-unreadable", message))
        return None
    try:
        return read_json(path, plugin.rel(path))
    except Unreadable as exc:
        plugin.early.append(finding(plugin.rel(path), exc))
        return None


def prompt_paths(plugin: Plugin):
    root = plugin.root
    for path in folder_files(plugin, root / "commands"):
        yield "command", path
    skills = root / "skills"
    if skills.is_dir() and inside(plugin, skills):
        for folder in sorted(p for p in skills.iterdir() if p.is_dir()):
            if not inside(plugin, folder) or own_plugin(folder):
                continue
            plugin.skill_folders.append(folder)
            for path in folder_files(plugin, folder):
                yield ("skill" if path == folder / "SKILL.md" else "reference"), path
    for path in folder_files(plugin, root / "agents"):
        yield "agent", path
    for path in folder_files(plugin, root / "references"):
        yield "reference", path


def own_plugin(folder: Path) -> bool:
    """A folder that is a plugin of its own (a marketplace installs it by itself, where
    ${CLAUDE_PLUGIN_ROOT} is that folder): validated as such, not as part of this one."""
    return (folder / ".claude-plugin" / "plugin.json").is_file()


def inside(plugin: Plugin, folder: Path) -> bool:
    """A folder that is the plugin's own, or a symlink Claude Code follows to one that does not
    hold the plugin (a link to / or to an ancestor would make every read walk the disk): the
    second is reported once and not read."""
    if not folder.is_symlink():
        return True
    target = folder.resolve()
    if not target.is_dir() or plugin.root.resolve().is_relative_to(target):
        message = f"a symlink to {target}, which holds the plugin itself: not read; link a folder"
        plugin.early.append(Finding(plugin.rel(folder), 1, "file-unreadable", message))
        return False
    return True


def folder_files(plugin: Plugin, folder: Path) -> list[Path]:
    if not folder.is_dir() or not inside(plugin, folder):
        return []
    found = walk(folder, ".md", MAX_FILES, skip=own_plugin)
    if len(found) > MAX_FILES:
        message = f"{len(found)} markdown files; only the first {MAX_FILES} are read"
        plugin.early.append(Finding(plugin.rel(folder), 1, "file-unreadable", message))
    return found[:MAX_FILES]


MAX_FILES = 5000


def read_prompt(plugin: Plugin, prompt: Prompt) -> bool:
    try:
        prompt.text = read_text(prompt.path)
        if prompt.kind == "reference":
            return True
        source, prompt.body_start, early = split_frontmatter(prompt.text)
        if early is not None:
            message = (
                f"Claude Code ends the frontmatter on line {early}, at a '---' inside a value; "
                "the rest of the frontmatter becomes the prompt's body: remove that '---'"
            )
            plugin.early.append(Finding(prompt.rel, early, "frontmatter-ends-early", message))
        if source is None:
            return True
        prompt.has_frontmatter = True
        meta, prompt.key_lines = parse_frontmatter(source)
    except Unreadable as exc:
        plugin.early.append(finding(prompt.rel, exc))
        prompt.unparsed = exc.rule == "frontmatter-yaml"
        return exc.rule not in ("file-unreadable", "file-encoding")
    except Exception as exc:  # never a traceback: an input this reader did not foresee
        message = f"not read as Claude Code reads it ({type(exc).__name__}: {str(exc)[:120]})"
        plugin.early.append(Finding(prompt.rel, 1, "frontmatter-yaml", message))
        prompt.unparsed = True
        return True
    if meta is not None and not isinstance(meta, dict):
        message = "frontmatter must be a mapping of keys to values; Claude Code ignores it"
        plugin.early.append(Finding(prompt.rel, 2, "frontmatter-yaml", message))
        meta = {}
    prompt.meta = {str(k): v for k, v in (meta or {}).items()}
    return True


def run(root: Path, only: set[str] | None = None, every: bool = False) -> list[Finding]:
    """The findings of the default rules (`every`: also the opt-in ones; `only`: these)."""
    plugin = read_plugin(root.resolve())
    findings: set[Finding] = set()
    for rule in RULES.values():
        if only and rule.id not in only or not (only or every or rule.default):
            continue
        if rule.scope == "plugin":
            findings.update(rule.check(plugin))
            continue
        for prompt in plugin.prompts:
            if prompt.kind in rule.kinds:
                findings.update(rule.check(plugin, prompt))
    return sorted(findings)
