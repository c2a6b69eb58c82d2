"""What reading the files found (engine.read_plugin reads them once): each kind of
problem under its own id, registered here like every other rule."""

from __future__ import annotations

from ..model import Plugin
from . import rule

READING = {
    "file-unreadable": "a file Claude Code cannot read (not a file, a loop, too big) is skipped",
    "file-encoding": "prompts are read as UTF-8",
    "json-invalid": "a manifest or hooks file that is not a JSON object is not loaded",
    "frontmatter-yaml": "YAML the loader cannot read even after quoting values is dropped",
    "frontmatter-ends-early": "the loader ends the frontmatter at the first ---, even in a value",
}


def reported(rule_id: str):
    def check(plugin: Plugin):
        return [f for f in plugin.early if f.rule == rule_id]

    check.__name__ = rule_id.replace("-", "_")
    return check


for _id, _summary in READING.items():
    rule(_id, _summary, scope="plugin")(reported(_id))
