"""What the validator knows about Claude Code, re-read from the pinned CLI.

The CLI (npm @anthropic-ai/claude-code, pinned in scripts/bootstrap.sh) is one compiled
binary holding its JavaScript. `extract()` reads each fact off the literal the CLI itself
uses, found by an anchor next to it; `python scripts/validate facts --write` refreshes
`schemas/claude-code.json`, and a test checks the file equals what the pinned CLI holds.
Facts with no literal to anchor on (built-in commands and agent types) are curated and
marked so in the file.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

HERE = Path(__file__).resolve().parent
FACTS_FILE = HERE / "schemas" / "claude-code.json"
ROOT = HERE.parents[1]
CLI = ROOT / ".tools" / "node_modules" / "@anthropic-ai" / "claude-code"

LIST = rb'"[^"\\]{1,60}"(?:,"[^"\\]{1,60}")*'
ANCHORS = {
    # the tool names the permission rules know, then the map of old names to new
    "tools": rb"=\[(" + LIST + rb")\],\w+=\{Task:\"Agent\"",
    "tool_aliases": rb"\],\w+=\{(Task:\"Agent\"(?:,\w+:\"\w+\")*)\}",
    # every frontmatter key the loader knows (commands, skills and agents alike)
    "frontmatter_keys": rb"=\[(\"name\",\"description\",\"model\",\"allowed-tools\"(?:,"
    + LIST
    + rb"))\],\w+=\w+\(\w+\);",
    # model aliases, then the tier names
    "model_aliases": rb"=\[(\"sonnet\",\"opus\",\"haiku\""
    + rb"(?:,\"[^\"]+\")*)\],\w+=\[\"sonnet\"",
    # keys dropped from plugin agents, in two lists
    "agent_keys_ignored_for_plugins": rb"=\[(\"permissionMode\",\"hooks\",\"mcpServers\")\],\w+="
    rb"\[(\"initialPrompt\"(?:,\"\w+\")*)\]",
    # marketplace names only Anthropic may use
    "reserved_marketplace_names": rb"new Set\(\[(\"claude-code-marketplace\"(?:,\"[a-z-]+\")*)\]\)",
    "reserved_community_names": rb"\w+=\[(\"healthcare\"(?:,\"[a-z-]+\")*)\],\w+=new Set\(\[("
    rb"\"claude-community\"(?:,\"[a-z-]+\")*)",
    # the keys a plugin agent may have besides the agent schema's, after its hint map
    # components still read at the top level of plugin.json, with a warning to move them
    # under `experimental`, then the path-bearing components the validate command checks
    "experimental_at_top": rb"=\[(" + LIST + rb")\],\w+=\[\{key:\"commands\",recordPathProperty",
    # the keys `experimental` may hold (others: "Unknown field", ignored at load time)
    "experimental_keys": rb"=new Set\(\[(\"themes\",\"monitors\"(?:," + LIST + rb")?)\]\),",
    # the plugin directory's listing keys, which plugin.json may carry (four lists, then a Set)
    "listing_keys": rb"=\[("
    + LIST
    + rb")\],\w+=\[("
    + LIST
    + rb")\],\w+=\[("
    + LIST
    + rb")\],\w+=\[("
    + LIST
    + rb")\],\w+=new Set\(\[(\"icon\"(?:,"
    + LIST
    + rb")?),\.\.\.",
    "agent_keys_plugin_extra": rb"new Map\(\[\[\"allowedtools\",\"tools\"\][^)]{0,200}\),\w+=\[("
    + LIST
    + rb")\];function",
}
# the agent frontmatter schema: its keys are those of the object literal after this anchor
AGENT_SCHEMA = rb"\w+\(\{name:\w+\(\)\.describe\(\"Agent identifier"
# the command and skill frontmatter schema, and what a skill adds to it
COMMAND_SCHEMA = rb"\w+\(\{name:\w+\(\)\.optional\(\)\.describe\(\"Display name\."
SKILL_SCHEMA = rb"\.extend\(\{when_to_use:\w+\(\)\.optional\(\)\.describe\(\"Guidance for when"
# every key of plugin.json, as the manifest's lazy shape lists them
MANIFEST_SCHEMA = rb"new \w+\(\{\$schema:\(\)=>\w+\(\)\.shape\.\$schema,name:"
# what the CLI suggests for a plugin agent's unknown key, by its folded spelling (null: none)
AGENT_HINTS = rb"new Map\(\[(\[\"allowedtools\",\"tools\"\](?:,\[\"\w+\",(?:\"\w+\"|null)\])*)\]\)"


class FactsError(Exception):
    pass


def binary() -> Path:
    found = sorted((CLI / "bin").glob("claude*")) or sorted(CLI.glob("cli.js"))
    if not found:
        raise FactsError(f"no pinned Claude Code CLI under {CLI}; run scripts/bootstrap.sh")
    return found[0]


def strings(raw: bytes) -> list[str]:
    return re.findall(r'"([^"]*)"', raw.decode("utf-8"))


def extract(data: bytes, version: str) -> dict:
    """Every fact the CLI holds a literal for; FactsError names an anchor that matched
    nothing (the CLI changed: read the new one and update the anchor)."""
    found = {}
    for fact, pattern in ANCHORS.items():
        match = re.search(pattern, data)
        if match is None:
            raise FactsError(f"anchor {fact!r} matches nothing in Claude Code {version}")
        found[fact] = [s for group in match.groups() for s in strings(group)]
    aliases = dict(re.findall(r'(\w+):"(\w+)"', match_text(ANCHORS["tool_aliases"], data)))
    events = re.finditer(rb'\["PreToolUse","PostToolUse"(?:,"[A-Za-z]+")*\]', data)
    community = found.pop("reserved_community_names")
    hints = re.search(AGENT_HINTS, data)
    if hints is None:
        raise FactsError(f"anchor 'agent_key_hints' matches nothing in Claude Code {version}")
    pairs = re.findall(r'\["(\w+)",(?:"(\w+)"|null)\]', hints.group(1).decode("utf-8"))
    return {
        "cli_version": version,
        "tools": sorted(found["tools"]),
        "tool_aliases": aliases,
        "frontmatter_keys": sorted(found["frontmatter_keys"]),
        "model_aliases": [*found["model_aliases"], "inherit"],
        "agent_keys_ignored_for_plugins": found["agent_keys_ignored_for_plugins"],
        "reserved_marketplace_names": sorted({*found["reserved_marketplace_names"], *community}),
        "hook_events": strings(max((m.group(0) for m in events), key=len)),
        "agent_keys": sorted(object_keys(data, AGENT_SCHEMA, version)),
        "skill_keys": sorted(
            {*object_keys(data, COMMAND_SCHEMA, version), *object_keys(data, SKILL_SCHEMA, version)}
        ),
        "agent_keys_plugin_extra": found["agent_keys_plugin_extra"],
        "manifest_keys": sorted(object_keys(data, MANIFEST_SCHEMA, version)),
        "experimental_at_top": found["experimental_at_top"],
        "experimental_keys": found["experimental_keys"],
        "listing_keys": sorted(found["listing_keys"]),
        "agent_key_hints": {folded: meant or None for folded, meant in pairs},
    }


def object_keys(data: bytes, anchor: bytes, version: str) -> list[str]:
    """The top-level keys of the JavaScript object literal that opens at `anchor`'s `{`
    (a quoted key, "allowed-tools", as well as a bare one)."""
    match = re.search(anchor, data)
    if match is None:
        raise FactsError(f"anchor {anchor[:40]!r} matches nothing in Claude Code {version}")
    text = data[match.start() : match.start() + 20_000].decode("utf-8", "replace")
    start = text.index("{")
    keys, depth, quote, i = [], 0, None, start
    while i < len(text):
        char = text[i]
        key = None if quote or depth != 1 or text[i - 1] not in "{," else KEY.match(text, i)
        if key:
            keys.append(key.group(1).strip('"'))
            i = key.end() - 1
        elif quote:
            if char == "\\":
                i += 1
            elif char == quote:
                quote = None
        elif char in "\"'`":
            quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
            if depth == 0:
                return keys
        i += 1
    raise FactsError(f"the object after {anchor[:40]!r} does not end in Claude Code {version}")


KEY = re.compile(r'(\$?\w+|"[\w-]+"):')


def match_text(pattern: bytes, data: bytes) -> str:
    return re.search(pattern, data).group(1).decode("utf-8")


def read_cli() -> dict:
    package = json.loads((CLI / "package.json").read_text(encoding="utf-8"))
    return extract(binary().read_bytes(), package["version"])


@cache
def load() -> dict:
    return json.loads(FACTS_FILE.read_text(encoding="utf-8"))


def write(facts: dict) -> None:
    """Keep the curated facts (those without a literal in the CLI), replace the rest."""
    current = load()
    merged = {**current, **facts}
    FACTS_FILE.write_text(json.dumps(merged, indent=2) + "\n", encoding="utf-8")
