"""marketplace.json: its schema, its plugin entries and what their folders hold, its name."""

from __future__ import annotations

import json
import re

from ..facts import load
from ..model import Finding, Json, Plugin
from ..read import exists
from . import rule
from .manifest import schema_findings


@rule("marketplace-schema", "marketplace.json keys and types as the CLI reads them", scope="plugin")
def marketplace_schema(plugin: Plugin):
    doc = plugin.marketplace
    if doc is not None:
        yield from schema_findings(
            doc,
            doc.data,
            "marketplace.schema.json",
            "marketplace-schema",
            doc.rel,
            lambda p: doc.line(*p),
        )
    entries = doc.data.get("plugins") if doc and isinstance(doc.data, dict) else None
    for index, entry in enumerate(entries if isinstance(entries, list) else []):
        if not isinstance(entry, dict):
            continue
        source = entry.get("source")
        archive = isinstance(source, dict) and source.get("source") == "archive"
        helper = entry.get("headersHelper")
        helper = isinstance(helper, str) and helper != ""  # the CLI's own test of it
        if (helper or "headers" in entry) and not archive:  # its warning: once per entry
            key = "headersHelper" if helper else "headers"
            message = (
                f'plugins[{index}].{key} applies only to an "archive" source; '
                "it has no effect on this entry"
            )
            yield Finding(doc.rel, doc.line("plugins", index, key), "marketplace-schema", message)


@rule(
    "marketplace-plugin-duplicate",
    "the CLI refuses a marketplace that lists two plugins under one name",
    scope="plugin",
)
def marketplace_duplicates(plugin: Plugin):
    doc = plugin.marketplace
    entries = doc.data.get("plugins") if doc else None
    seen: dict[str, int] = {}
    for index, entry in enumerate(entries if isinstance(entries, list) else []):
        name = entry.get("name") if isinstance(entry, dict) else None
        if not isinstance(name, str):
            continue
        if name in seen:
            message = f"plugins[{index}].name {name[:80]!r} is also plugins[{seen[name]}]'s"
            yield Finding(doc.rel, doc.line("plugins", index, "name"), doc_rule, message)
        seen.setdefault(name, index)


doc_rule = "marketplace-plugin-duplicate"


@rule(
    "marketplace-name-reserved",
    "the CLI refuses marketplace names Anthropic reserves",
    scope="plugin",
)
def marketplace_reserved(plugin: Plugin):
    doc = plugin.marketplace
    name = doc.data.get("name") if doc else None
    if isinstance(name, str) and name.lower() in load()["reserved_marketplace_names"]:
        message = f"marketplace name {name!r} is reserved by Claude Code; choose another"
        yield Finding(doc.rel, doc.line("name"), "marketplace-name-reserved", message)


def manifest_version(folder) -> str | None:
    """The version a plugin folder's own plugin.json declares, if it is a string."""
    try:
        data = json.loads((folder / ".claude-plugin" / "plugin.json").read_text("utf-8-sig"))
    except (OSError, ValueError):
        return None
    version = data.get("version") if isinstance(data, dict) else None
    return version if isinstance(version, str) else None


@rule("marketplace-source", "a relative plugin source must hold a plugin", scope="plugin")
def marketplace_sources(plugin: Plugin):
    doc = plugin.marketplace
    entries = doc.data.get("plugins") if doc else None
    for index, entry in enumerate(entries if isinstance(entries, list) else []):
        if not isinstance(entry, dict) or not isinstance(entry.get("source"), str):
            continue
        source = entry["source"]
        line = doc.line("plugins", index, "source")
        target = source_folder(plugin.root, doc.data, source)
        if target is None and BARE.fullmatch(source):
            message = (
                f"plugins[{index}].source {source[:80]!r}: a bare name resolves under "
                'metadata.pluginRoot, which this marketplace does not set; write "./path"'
            )
            yield Finding(doc.rel, line, "marketplace-source", message)
        elif target is None or not exists(target):
            message = f"plugins[{index}].source {source[:80]!r} is no folder of this repository"
            yield Finding(doc.rel, line, "marketplace-source", message)
        else:
            yield from entry_against_folder(plugin, doc, index, entry, target)


BARE = re.compile(r"[A-Za-z0-9][-A-Za-z0-9._]*")


def source_folder(root, data, source: str):
    """Where the CLI looks for a local source: a ./ path from the marketplace's root, a bare
    name under metadata.pluginRoot; None for a bare name with no pluginRoot, or no local path."""
    if BARE.fullmatch(source):
        meta = data.get("metadata") if isinstance(data, dict) else None
        base = meta.get("pluginRoot") if isinstance(meta, dict) else None
        return root / base / source if isinstance(base, str) else None
    return root / source if source == "." or source.startswith("./") else None


def entry_against_folder(plugin: Plugin, doc: Json, index: int, entry: dict, target):
    """What the CLI says of an entry whose folder holds its own plugin.json: each apart."""
    source = entry["source"]
    if "optionalDependencies" in entry and exists(target / ".claude-plugin" / "plugin.json"):
        message = (
            f"plugins[{index}].optionalDependencies is ignored: {source} has its own "
            "plugin.json; move the list there"
        )
        at = doc.line("plugins", index, "optionalDependencies")
        yield Finding(doc.rel, at, "marketplace-source", message)
    declared, held = entry.get("version"), manifest_version(target)
    if declared is not None and held is not None and held != declared:
        message = (
            f"plugins[{index}].version {str(declared)[:40]!r} differs from the "
            f"{held[:40]!r} of {source}'s plugin.json, which wins at install time"
        )
        at = doc.line("plugins", index, "version")
        yield Finding(doc.rel, at, "marketplace-source", message)
    if (
        target.resolve() == plugin.root.resolve()
        and plugin.manifest is not None  # without plugin.json the entry is the manifest
        and entry.get("strict") is not False  # entries that each pick parts of the folder
        and entry.get("name") != plugin.name
    ):
        message = (
            f"plugins[{index}].name {entry.get('name')!r} differs from plugin.json's "
            f"name {plugin.name!r}"
        )
        yield Finding(doc.rel, doc.line("plugins", index, "name"), "marketplace-source", message)


@rule(
    "marketplace-name-impersonation",
    "the CLI refuses a marketplace name that reads as an official Anthropic or Claude one",
    scope="plugin",
)
def marketplace_impersonation(plugin: Plugin):
    doc = plugin.marketplace
    name = doc.data.get("name") if doc else None
    if isinstance(name, str) and name.lower() not in load()["reserved_marketplace_names"]:
        if impersonates(name):
            message = (
                f"marketplace name {name!r} reads as an official Anthropic/Claude marketplace "
                "('claude-plugins...', 'official claude', ...); Claude Code refuses it"
            )
            yield Finding(doc.rel, doc.line("name"), "marketplace-name-impersonation", message)


# The CLI's own test (2.1.332): "anthropic" or "claude" next to "official" in any order, or
# opening the name before one of these words, counting the name's words run together.
OFFICIAL = "official[^a-z0-9]*(anthropic|claude)|(anthropic|claude)[^a-z0-9]*official"
WORDS = ("marketplace", "plugins", "official", "directory", "directories")


def impersonates(name: str) -> bool:
    opening = re.compile(
        rf"(?:{OFFICIAL}|^(?:anthropic|claude)[^a-z0-9]*({'|'.join(WORDS)}))", re.I
    )
    if opening.search(name):
        return True
    if opening.search(re.sub(r"^[^a-z0-9]+", "", name, flags=re.I)):
        return True
    if re.search(
        r"official(anthropic|claude)|(anthropic|claude)official",
        re.sub(r"[^a-z0-9]+", "", name, flags=re.I),
        re.I,
    ):
        return True
    joined = re.compile(rf"^(?:anthropic|claude)(?:{'|'.join(WORDS)})s?$", re.I)
    words, run = [w for w in re.split(r"[^a-z0-9]+", name, flags=re.I) if w], ""
    for word in words:
        run += word
        if joined.match(run):
            return True
        if len(run) > 9 + max(map(len, WORDS)) + 1:
            break
    return False
