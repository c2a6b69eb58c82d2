"""hooks/hooks.json (or the file or object plugin.json's `hooks` names)."""

from __future__ import annotations

import re

from ..facts import load
from ..model import Finding, Plugin
from ..read import exists
from . import rule

HOOK_TYPES = ("command", "prompt", "agent", "http")
GUARDS = ("PreToolUse", "PermissionRequest", "PreSkillShellCommand")  # events that can refuse


@rule("hooks-schema", "hook events, matchers and hooks as the CLI loads them", scope="plugin")
def hooks_schema(plugin: Plugin):
    doc = plugin.hooks
    if doc is None:
        return
    for key, value in doc.data.items():
        if key in GUARDS and value:  # the CLI refuses the guard events only
            message = (
                f'{key} is declared at the top level, outside "hooks": Claude Code refuses the '
                'file, and the permissions it guards are not applied; move it into {"hooks": {}}'
            )
            yield Finding(doc.rel, doc.line(key), "hooks-schema", message)
    events = doc.data.get("hooks")
    if events is None and "modules" in doc.data:
        return  # hooks modules only
    if not isinstance(events, dict):
        yield Finding(doc.rel, 1, "hooks-schema", 'needs {"hooks": {"EventName": [...]}}')
        return
    for event, groups in events.items():
        if event not in load()["hook_events"]:
            message = f"{event!r} is not a hook event of Claude Code {load()['cli_version']}"
            yield Finding(doc.rel, doc.line("hooks", event), "hooks-schema", message)
        for index, group in enumerate(groups if isinstance(groups, list) else [None]):
            yield from group_problems(doc, ("hooks", event, index), group)


def group_problems(doc, path: tuple, group):
    hooks = group.get("hooks") if isinstance(group, dict) else None
    if not isinstance(hooks, list) or not hooks:
        message = 'each entry needs "hooks": [{"type": "command", "command": "..."}]'
        yield Finding(doc.rel, doc.line(*path), "hooks-schema", message)
        return
    for index, hook in enumerate(hooks):
        where = doc.line(*path, "hooks", index)
        kind = hook.get("type") if isinstance(hook, dict) else None
        if kind not in HOOK_TYPES:
            message = f"hook type {kind!r} is not one of {', '.join(HOOK_TYPES)}"
            yield Finding(doc.rel, where, "hooks-schema", message)
        elif kind == "command" and not isinstance(hook.get("command"), str):
            yield Finding(doc.rel, where, "hooks-schema", 'a command hook needs "command"')
        elif kind == "command" and "args" in hook and not is_strings(hook["args"]):
            message = '"args" (exec form: no shell) must be a list of strings'
            yield Finding(doc.rel, where, "hooks-schema", message)


def is_strings(value) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def hook_commands(doc):
    """(line, command, args) of every command hook; args is None in shell form."""
    events = doc.data.get("hooks") if doc else None
    for event, groups in events.items() if isinstance(events, dict) else []:
        for gi, group in enumerate(groups if isinstance(groups, list) else []):
            hooks = group.get("hooks") if isinstance(group, dict) else None
            for hi, hook in enumerate(hooks if isinstance(hooks, list) else []):
                command = hook.get("command") if isinstance(hook, dict) else None
                if isinstance(command, str):
                    args = hook.get("args") if is_strings(hook.get("args")) else None
                    yield doc.line("hooks", event, gi, "hooks", hi, "command"), command, args


@rule(
    "hooks-command-path", "${CLAUDE_PLUGIN_ROOT} paths in hook commands must exist", scope="plugin"
)
def hooks_command_path(plugin: Plugin):
    for line, command, args in hook_commands(plugin.hooks):
        targets = re.findall(r"\$\{CLAUDE_PLUGIN_ROOT\}/([^\s'\"]+)", command)
        prefix = "${CLAUDE_PLUGIN_ROOT}/"  # exec form: one argument, spaces and all
        targets += [a[len(prefix) :] for a in args or [] if a.startswith(prefix)]
        for target in targets:
            if not exists(plugin.root / target):
                message = f"${{CLAUDE_PLUGIN_ROOT}}/{target[:120]} does not exist"
                yield Finding(plugin.hooks.rel, line, "hooks-command-path", message)


@rule(
    "hooks-unquoted-root",
    "the CLI warns: an unquoted ${CLAUDE_PLUGIN_ROOT} splits on spaces",
    scope="plugin",
)
def hooks_unquoted_root(plugin: Plugin):
    for line, command, args in hook_commands(plugin.hooks):
        if args is None and re.search(r'(?<!")\$\{CLAUDE_PLUGIN_ROOT\}', command):
            message = (
                f"{command[:120]!r}: quote the placeholder, "
                '"${CLAUDE_PLUGIN_ROOT}/...", so that a path with a space stays one word'
            )
            yield Finding(plugin.hooks.rel, line, "hooks-unquoted-root", message)
