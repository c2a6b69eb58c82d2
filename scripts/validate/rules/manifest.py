"""plugin.json, and the schema reader the marketplace rules share."""

from __future__ import annotations

import json
import re
from functools import cache

import jsonschema
from referencing import Registry, Resource

from ..facts import HERE, load
from ..model import Finding, Json, Plugin
from ..read import exists
from . import rule

SCHEMAS = HERE / "schemas"


@cache
def registry() -> Registry:
    return Registry().with_resources(
        (p.name, Resource.from_contents(json.loads(p.read_text(encoding="utf-8"))))
        for p in SCHEMAS.glob("*.schema.json")
    )


@cache
def load_schema(name: str) -> dict:
    """One of schemas/*.schema.json, read once."""
    return json.loads((SCHEMAS / name).read_text(encoding="utf-8"))


def schema_findings(doc: Json | None, data, schema: str, rule_id: str, rel: str, lines):
    """Schema errors, one finding each; an unknown key names the keys Claude Code knows."""
    spec = load_schema(schema)
    validator = jsonschema.Draft202012Validator(spec, registry=registry())
    for error in sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.path))):
        path = list(error.absolute_path)
        where = ".".join(str(p) for p in path) or "(top level)"
        if error.validator == "additionalProperties":
            known = ", ".join(sorted(error.schema.get("properties", {})))
            for key in sorted(set(error.instance) - set(error.schema.get("properties", {}))):
                inside = f" in {where}" if path else ""
                message = f"unknown key {key!r}{inside}: Claude Code ignores it; known: {known}"
                yield Finding(rel, lines([*path, key]), rule_id, message)
            continue
        message = error.message
        if error.validator == "pattern" and isinstance(error.instance, str):
            message = f"{error.instance[:80]!r} does not match {error.schema['pattern']}"
        elif error.validator in ("oneOf", "anyOf"):
            message = f"{str(error.instance)[:80]!r} has the wrong type or form"
        yield Finding(rel, lines(path), rule_id, f"{where}: {message}")


@rule("manifest-schema", "plugin.json keys and types as the CLI's manifest schema", scope="plugin")
def manifest_schema(plugin: Plugin):
    doc = plugin.manifest
    if doc is not None:
        yield from schema_findings(
            doc, doc.data, "plugin.schema.json", "manifest-schema", doc.rel, lambda p: doc.line(*p)
        )
    data = doc.data if doc is not None and isinstance(doc.data, dict) else {}
    for path in stray_guards(data, ()):
        where = ".".join(map(str, path))
        message = (
            f'{where}: PreToolUse/PermissionRequest hooks outside "hooks" are not loaded, and '
            "a guard that cannot load may be what protects the permissions beside it: Claude "
            'Code applies nothing of this plugin until they move under "hooks"'
        )
        yield Finding(doc.rel, doc.line(*path), "manifest-schema", message)
    for key in load()["experimental_at_top"]:  # the CLI's warning, in its words
        if key in data:
            message = (
                f"{key!r} is an experimental component: declare it under 'experimental.{key}' "
                "(at the top level it still loads, but will be removed in a future release)"
            )
            yield Finding(doc.rel, doc.line(key), "manifest-schema", message)


GUARDS = ("PreToolUse", "PermissionRequest")


def stray_guards(value, path: tuple) -> list[tuple]:
    """Where plugin.json holds PreToolUse or PermissionRequest matchers outside `hooks` (and
    outside the free-form `metadata`), at any depth: the CLI refuses the plugin for them."""
    found = []
    if isinstance(value, dict):
        for key, inner in value.items():
            if not path and key in ("hooks", "metadata"):
                continue
            if key in GUARDS and isinstance(inner, list) and inner:
                found.append((*path, key))
            else:
                found += stray_guards(inner, (*path, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            found += stray_guards(inner, (*path, index))
    return found


SERVERS = ("mcpServers", "lspServers")  # as a path: a file the loader skips when missing


COMPONENTS = ("commands", "agents", "skills", "outputStyles", "hooks", "icon", *SERVERS)
COMPONENTS += ("themes", "workflows", "monitors", "types")  # newer: paths the CLI checks too


def components(data) -> list[tuple[tuple, str, object]]:
    """(where in plugin.json, key, value) of each component path, `experimental` ones too."""
    if not isinstance(data, dict):
        return []
    found = [((key,), key, data[key]) for key in COMPONENTS if key in data]
    inner = data.get("experimental")
    if isinstance(inner, dict):
        found += [(("experimental", key), key, inner[key]) for key in COMPONENTS if key in inner]
    return found


@rule("component-path", "plugin.json component paths Claude Code loads", scope="plugin")
def component_paths(plugin: Plugin):
    doc = plugin.manifest
    if doc is None:
        return
    for at, key, value in components(doc.data):
        values = [value] if isinstance(value, str) else value if isinstance(value, list) else []
        for index, item in enumerate(values):
            if not isinstance(item, str):
                continue
            line = doc.line(*at, index) if isinstance(value, list) else doc.line(*at)
            target = plugin.root / item
            if ".." in item.replace("\\", "/").split("/"):
                message = f"{key}: {item[:120]} climbs out of the plugin; Claude Code refuses it"
                yield Finding(doc.rel, line, "component-path", message)
            elif not item.startswith("./") and key != "icon":
                message = f'{key}: {item[:120]} must start with "./" (Claude Code refuses it)'
                yield Finding(doc.rel, line, "component-path", message)
            elif key == "agents" and not item.endswith(".md"):
                message = (
                    f"agents: {item[:120]} must name .md files (a folder fails to load): "
                    "leave agents/ to be found on its own, or list each file"
                )
                yield Finding(doc.rel, line, "component-path", message)
            elif not exists(target):
                yield Finding(doc.rel, line, "component-path", f"{key}: {item} does not exist")
            elif key == "icon" and not target.is_file():
                message = f"icon: {item} is not a file in the plugin (the directory cannot use it)"
                yield Finding(doc.rel, line, "component-path", message)
            elif key == "skills" and target.is_file():
                message = (
                    f"skills: {item} is a file; an entry names a folder holding SKILL.md "
                    "(for a plugin that is one skill, '.')"
                )
                yield Finding(doc.rel, line, "component-path", message)
            elif key in ("commands", "agents") and target.is_file() and target.suffix != ".md":
                message = f"{key}: {item} is not a .md file; Claude Code loads only markdown"
                yield Finding(doc.rel, line, "component-path", message)


MARKS = ("claude", "anthropic", "anthropics")


def anthropic_name(name: str) -> str | None:
    """Why the CLI refuses a plugin name as one of Anthropic's own (its rule, 2.1.332): it
    starts with claude-, anthropic-, anthropics- or cc-plugin-, is one of those marks or
    claude-code or claude-mods, or puts "official" beside claude or anthropic; None if not."""
    words = [w for w in re.split(r"[^a-z0-9]+", name.lower()) if w]
    whole = "".join(words)
    if not words:
        return None
    if words[0] in MARKS or words[:2] == ["cc", "plugin"] or whole.startswith("ccplugin"):
        return "starts with " + ("cc-plugin" if words[0] == "cc" else words[0])
    if whole in {*MARKS, "claudecode", "claudemods"}:
        return "is one of Anthropic's names"
    for left, right in zip(words, words[1:], strict=False):
        if {left, right} & {"claude", "anthropic"} and {left, right} & {"official"}:
            return 'puts "official" beside ' + (left if left != "official" else right)
    return None


@rule(
    "plugin-name-reserved",
    "the CLI refuses a plugin name that passes as one of Anthropic's own",
    scope="plugin",
)
def plugin_name_reserved(plugin: Plugin):
    places = []
    if plugin.manifest is not None and isinstance(plugin.manifest.data.get("name"), str):
        places.append((plugin.manifest, ("name",), plugin.manifest.data["name"]))
    entries = plugin.marketplace.data.get("plugins") if plugin.marketplace else None
    for index, entry in enumerate(entries if isinstance(entries, list) else []):
        if isinstance(entry, dict) and isinstance(entry.get("name"), str):
            places.append((plugin.marketplace, ("plugins", index, "name"), entry["name"]))
    for doc, path, name in places:
        why = anthropic_name(name)
        if why is not None:
            message = (
                f"plugin name {name[:80]!r} {why}: Claude Code reserves it for Anthropic's own "
                "plugins and refuses it; name it for what it does"
            )
            yield Finding(doc.rel, doc.line(*path), "plugin-name-reserved", message)


@rule("mcp-server", "an MCP server the loader can start: a command, or a url", scope="plugin")
def mcp_server(plugin: Plugin):
    """The loader drops a server without `command` (stdio, the default) or without `url`
    (http, sse, ws), and says nothing at run time; `claude plugin validate` reports it."""
    places = []
    if plugin.mcp is not None and isinstance(plugin.mcp.data, dict):
        data = plugin.mcp.data
        servers = data.get("mcpServers", data) if isinstance(data, dict) else {}
        prefix = ["mcpServers"] if "mcpServers" in data else []
        places.append((plugin.mcp, servers, prefix))
    inline = plugin.manifest.data.get("mcpServers") if plugin.manifest else None
    if isinstance(inline, dict):
        places.append((plugin.manifest, inline, ["mcpServers"]))
    for doc, servers, prefix in places:
        for name, server in servers.items() if isinstance(servers, dict) else []:
            if not isinstance(server, dict):
                continue
            remote = server.get("type") in ("http", "sse", "ws", "sse-ide", "ws-ide")
            needed = "url" if remote else "command"
            if not isinstance(server.get(needed), str):
                message = (
                    f"MCP server {name!r} has no {needed}: Claude Code drops it at load "
                    f"and none of its tools appear"
                )
                yield Finding(doc.rel, doc.line(*prefix, name), "mcp-server", message)


@rule("manifest-missing", "a plugin folder has .claude-plugin/plugin.json", scope="plugin")
def manifest_missing(plugin: Plugin):
    """`claude plugin validate` takes a folder with .claude-plugin/plugin.json or
    marketplace.json, or a skills-only folder (skills/NAME/SKILL.md, no plugin.json).
    Any other folder loads only as a marketplace entry with `strict: false`, which then
    holds its whole manifest."""
    claude = plugin.root / ".claude-plugin"
    if exists(claude / "plugin.json") or exists(claude / "marketplace.json"):
        return
    misplaced = plugin.root / "plugin.json"
    if not exists(misplaced) and any(
        p.is_file() and not p.is_symlink() and not p.parent.is_symlink()
        for p in (plugin.root / "skills").glob("*/SKILL.md")
    ):
        return  # a skills-only folder
    where = " (plugin.json is at the top: move it there)" if exists(misplaced) else ""
    message = (
        f"no .claude-plugin/plugin.json{where}; without it this folder loads only as a "
        "marketplace entry with strict: false"
    )
    yield Finding(".", 1, "manifest-missing", message)
