"""Each of our findings by what the CLI does with its file: it reports something there
("reported"), it does not load the part the file is ("fails to load"), or it loads it and says
nothing ("loads fine"); and what the CLI refuses that we say nothing about ("missed")."""

from __future__ import annotations

import re
from pathlib import PurePosixPath

from .cli import Verdict

REPORTED, FAILS, LOADS = "reported", "fails to load", "loads fine"


def component(rel: str) -> tuple[str, str] | None:
    """The part of the plugin a file is, as `validate` lists it under Provides."""
    parts = PurePosixPath(rel).parts
    if len(parts) >= 2 and parts[0] == "commands" and rel.endswith(".md"):
        return "commands", PurePosixPath(rel).stem
    if len(parts) == 3 and parts[0] == "skills" and parts[2] == "SKILL.md":
        return "skills", parts[1]
    if len(parts) >= 2 and parts[0] == "agents" and rel.endswith(".md"):
        return "agents", PurePosixPath(rel).stem
    return None


def loaded(verdict: Verdict, kind: str, name: str) -> bool:
    return any(
        p.startswith(f"{kind}: ") and p.rsplit(":", 1)[-1].strip() == name for p in verdict.provides
    )


def classify(rel: str, verdict: Verdict, agent_names: dict[str, str]) -> str:
    """`agent_names` maps an agent file to the name its frontmatter gives."""
    if any(m.file == rel for m in verdict.messages if not m.directory):
        return REPORTED
    found = component(rel)
    if found is not None and verdict.provides is not None:
        kind, name = found
        name = agent_names.get(rel, name) if kind == "agents" else name
        if not loaded(verdict, kind, name):
            return FAILS
    return LOADS


def missed(verdict: Verdict, flagged: set[str], nested: tuple[str, ...] = ()) -> list[str]:
    """CLI errors (its own checks, not the directory's) on files we found nothing in. What it
    says of a plugin a marketplace lists (`plugins[3] plugin.json → ...`) or of a file inside
    another plugin folder (`nested`) is that folder's, counted where it is surveyed itself."""
    return [
        f"{m.file}: {m.text}"
        for m in verdict.messages
        if m.level == "error"
        and not m.directory
        and m.file not in flagged
        and not LISTED.match(m.text)
        and not any(m.file.startswith(folder + "/") for folder in nested)
    ]


LISTED = re.compile(r"plugins\[\d+\] plugin\.json → ")
