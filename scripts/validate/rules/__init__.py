"""The rule registry: one function per rule, each with an id (as markdownlint and
flake8-bugbear do). A rule is `check(plugin) -> Iterable[Finding]` (scope "plugin") or
`check(plugin, prompt) -> Iterable[Finding]` (scope "prompt"); `rule()` registers it."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from ..model import Finding


@dataclass(frozen=True)
class Rule:
    id: str
    scope: str  # plugin or prompt
    kinds: tuple[str, ...]  # for prompt rules: which kinds of prompt
    summary: str  # the Claude Code behaviour it matches
    check: Callable[..., Iterable[Finding]]
    default: bool = True  # False: run only when asked (its precision does not hold)


RULES: dict[str, Rule] = {}
PROMPTS = ("command", "skill", "agent")


def rule(rule_id: str, summary: str, *, scope: str = "prompt", kinds=PROMPTS, default=True):
    def register(check):
        if rule_id in RULES:
            raise ValueError(f"rule id {rule_id} is registered twice")
        RULES[rule_id] = Rule(rule_id, scope, tuple(kinds), summary, check, default)
        return check

    return register


from . import body, frontmatter, hooks, manifest, marketplace, names, reading  # noqa: E402, F401  (each registers its rules)
