"""Names: how Claude Code registers commands (file name), skills (folder) and agents."""

from __future__ import annotations

from ..model import Finding, Plugin
from . import rule


@rule("name-collision", "a command and a skill with one name: the command wins", scope="plugin")
def name_collision(plugin: Plugin):
    commands = {p.name: p for p in plugin.prompts if p.kind == "command"}
    for skill in (p for p in plugin.prompts if p.kind == "skill"):
        if skill.name in commands:
            message = (
                f"skill {skill.name!r} has the name of command {commands[skill.name].rel}; "
                "Claude Code runs the command and the skill is unreachable: rename one"
            )
            yield Finding(skill.rel, 1, "name-collision", message)


@rule("agent-name-duplicate", "two agents with one name: one is lost", scope="plugin")
def agent_name_duplicate(plugin: Plugin):
    seen = {}
    for prompt in (p for p in plugin.prompts if p.kind == "agent"):
        if prompt.name in seen:
            message = f"agent name {prompt.name!r} is also used by {seen[prompt.name].rel}"
            yield Finding(prompt.rel, prompt.line_of("name"), "agent-name-duplicate", message)
        seen.setdefault(prompt.name, prompt)


@rule("skill-folder", "a folder under skills/ without SKILL.md is not a skill", scope="plugin")
def skill_folder(plugin: Plugin):
    for folder in plugin.skill_folders:
        if not (folder / "SKILL.md").is_file():
            nested = sorted(p.parent.name for p in folder.glob("*/SKILL.md"))
            misnamed = [p.name for p in folder.glob("*.md") if p.name.lower() == "skill.md"]
            if not nested and not misnamed:
                continue  # shared scripts, notes or references: not a skill, none meant
            message = (
                f"{misnamed[0]} is not SKILL.md; Claude Code does not load it" if misnamed else ""
            )
            if nested:
                message = (
                    f"holds skills one level down ({', '.join(nested[:3])}"
                    f"{', ...' if len(nested) > 3 else ''}): Claude Code loads only "
                    "skills/NAME/SKILL.md, so none of them loads; move them up"
                )
            yield Finding(plugin.rel(folder), 1, "skill-folder", message)
