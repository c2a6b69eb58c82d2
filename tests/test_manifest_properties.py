"""The validator's plugin.json verdict against the pinned CLI's, over generated manifests.

Each case is the clean plugin of tests/validate_corpus/good with one key of plugin.json set to
a generated value: a key the CLI's manifest schema knows (or one it does not), and a value
drawn from strings shaped like paths, URLs, versions and names, numbers, booleans, null, and
lists and maps of them, some naming files the plugin has. The pinned CLI is run as the gate
runs it (`plugin validate --strict --profile directory`) and read with survey/cli.py.

The property: the validator reports something in plugin.json exactly when the CLI does (its
own checks on plugin.json, or the directory's on that key). A draw is not tuned on: each run
takes a fresh seed (MANIFEST_SEED repeats one) and names it when it fails.
"""

from __future__ import annotations

import json
import os
import random
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import validate
from conftest import ROOT
from survey.cli import run_cli
from validate.facts import load as load_facts
from validate.rules.manifest import load_schema

GOOD = ROOT / "tests" / "validate_corpus" / "good"
MANIFEST = ".claude-plugin/plugin.json"
# Files of the clean plugin, and a few added here, that a generated path may name.
EXTRA = {
    "mcp.json": json.dumps({"mcpServers": {"s": {"command": "node", "args": ["s.js"]}}}),
    "hooks/more.json": json.dumps({"hooks": {}}),
    "monitors/monitors.json": "[]",
    "styles/terse.md": "---\nname: terse\ndescription: Short answers.\n---\nBe brief.\n",
}
EXISTING = [
    "./commands",
    "./commands/hello.md",
    "./agents/helper.md",
    "./skills/greet-user",
    "./mcp.json",
    "./hooks/more.json",
    "./monitors/monitors.json",
    "./styles",
    "./styles/terse.md",
]
WORDS = ["x", "p-q", "Team Tools", "1.0.0", ">=2.1.0", "MIT", "api.example.com", "node", "stdio"]
STRINGS = ["", "./x", "x.json", "https://example.com/p", "../outside", *EXISTING, *WORDS]
# Whole values of the forms the CLI takes (and near misses of them), so that the draw also
# holds valid hooks, servers, monitors, dependencies and the like, not only broken ones.
SHAPED = [
    {"PreToolUse": [{"matcher": "Bash", "hooks": [{"type": "command", "command": "true"}]}]},
    {"PreToolUse": []},
    {"Pretooluse": []},
    {"s": {"command": "node", "args": ["s.js"]}},
    {"s": {"type": "http", "url": "https://example.com/mcp"}},
    {"s": {"args": ["s.js"]}},
    {"ts": {"command": "tsserver", "extensionToLanguage": {".ts": "typescript"}}},
    {"ts": {"command": "tsserver", "extensionToLanguage": {}}},
    [{"name": "m", "command": "tail -f log", "description": "Watches the log."}],
    [{"name": "m", "command": "tail -f log"}],
    {"hosts": ["api.example.com", "*.example.com:5432"]},
    {"hosts": "api.example.com"},
    {"claude-code": ">=2.1.0"},
    {"claude-code": "soon"},
    ["other-plugin", "other@market", {"name": "dep", "marketplace": "market"}],
    ["two words"],
    {"themes": "./styles", "monitors": "./monitors/monitors.json"},
    {"evals": "./evals", "colors": "./x"},
    {"api_key": {"type": "string", "title": "API key", "description": "The key."}},
    {"api-key": {"type": "string", "title": "API key", "description": "The key."}},
    {"tool": {"sha256": "0" * 64}},
    {"Tool": {"sha256": "0"}},
]
# Keys the CLI does not know (misspelt or from another tool's manifest).
MORE_KEYS = ["theme", "permissions", "mcp"]


def value(rng: random.Random, depth: int = 0):
    kind = rng.choice(["str", "str", "str", "num", "bool", "null", "list", "list", "map", "map"])
    if depth == 0 and rng.random() < 0.25:
        return rng.choice(SHAPED)
    if depth >= 2 and kind in ("list", "map"):
        kind = "str"
    if kind == "str":
        return rng.choice(STRINGS)
    if kind == "num":
        return rng.choice([0, 1, -1, 1.5, 2**40])
    if kind == "bool":
        return rng.choice([True, False])
    if kind == "null":
        return None
    if kind == "list":
        return [value(rng, depth + 1) for _ in range(rng.choice([0, 1, 1, 2]))]
    names = ["name", "hosts", "command", "args", "type", "claude-code", "themes", "s", "a"]
    return {rng.choice(names): value(rng, depth + 1) for _ in range(rng.choice([0, 1, 1, 2]))}


MARKET = ".claude-plugin/marketplace.json"
ENTRY = {"name": "corpus-plugin", "source": "./", "description": "The corpus plugin."}
# Where a generated value goes: a key of plugin.json, or of the marketplace's plugin entry.
TARGETS = {
    "plugin.json": (MANIFEST, "plugin.schema.json", ()),
    "marketplace entry": (MARKET, "marketplace.schema.json", ("properties", "plugins", "items")),
}


def cases(seed: int, size: int, target: str) -> list[tuple[str, object]]:
    rng = random.Random(seed)
    spec = load_schema(TARGETS[target][1])
    for step in TARGETS[target][2]:
        spec = spec[step]
    known = set(spec["properties"]) - {"$schema", "name", "source"}
    keys = sorted(known) + MORE_KEYS
    drawn = {(key, json.dumps(value(rng))) for key in rng.choices(keys, k=size)}
    return [(key, json.loads(text)) for key, text in sorted(drawn)]


def verdicts(root: Path, target: str, key: str, given) -> tuple[list[str], list[str]]:
    """What the CLI and the validator report in the file `target` names, with `key` set.
    A path of ours the CLI says nothing of but loads nothing from (it lists no component of
    that kind) counts as reported: the survey counts it as "fails to load"."""
    rel = TARGETS[target][0]
    shutil.copytree(GOOD, root)
    for name, content in EXTRA.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(content, encoding="utf-8")
    if rel == MANIFEST:
        document = json.loads((GOOD / MANIFEST).read_text(encoding="utf-8"))
        document[key] = given
    else:
        entry = {**ENTRY, key: given}
        document = {"name": "corpus-market", "owner": {"name": "maintainers"}, "plugins": [entry]}
        document["description"] = "The corpus marketplace."
    (root / rel).write_text(json.dumps(document, indent=1), encoding="utf-8")
    verdict = run_cli(root, 120)
    cli = [
        m.text
        for m in verdict.messages
        if (not m.directory and m.file == rel)
        or (m.directory and m.file == rel and m.text.split(" ", 2)[1] == f"{key}:")
        and not (key != "icon" and "ICON_MISSING" in m.text)
    ]
    ours = [str(f) for f in validate.run(root) if f.rel == rel]
    if not cli and ours and all("[component-path]" in f for f in ours):
        if not any(p.startswith(f"{key}: ") for p in verdict.provides):
            cli = [f"(silent, and it loads no {key}: {', '.join(sorted(verdict.provides))})"]
    return cli, ours


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_the_validator_reports_where_the_cli_does(tmp_path: Path, claude: str, target: str) -> None:
    seed = int(os.environ.get("MANIFEST_SEED") or random.SystemRandom().randrange(10**6))
    size = int(os.environ.get("MANIFEST_SIZE") or 96)
    drawn = cases(seed, size, target)
    with ThreadPoolExecutor(8) as pool:
        said = list(
            pool.map(lambda c: verdicts(tmp_path / f"p{c[0]}", target, *c[1]), enumerate(drawn))
        )
    differ = [
        (key, given, cli, ours)
        for (key, given), (cli, ours) in zip(drawn, said, strict=True)
        if bool(cli) != bool(ours)
    ]
    reported = sum(bool(cli) for cli, _ in said)
    report = (
        f"{target}, seed {seed}: {len(drawn)} cases, CLI reported {reported}, differ {len(differ)}"
    )
    print(report)
    assert reported and reported < len(drawn), report  # the draw holds both kinds
    assert not differ, (report, differ)


def test_the_schema_has_the_keys_the_cli_reads() -> None:
    """plugin.schema.json names every key of the CLI's manifest and of the directory's
    listing, and no other; `experimental` holds the CLI's experimental keys (facts read from
    the pinned CLI: python scripts/validate facts --write)."""
    facts = load_facts()
    schema = load_schema("plugin.schema.json")
    assert set(schema["properties"]) == {*facts["manifest_keys"], *facts["listing_keys"]}
    inner = schema["properties"]["experimental"]["properties"]
    assert set(inner) == set(facts["experimental_keys"])
    assert set(facts["experimental_at_top"]) <= set(inner) & set(schema["properties"])
