"""The rules by id, each with the plugin's tested reference that shows the fix."""

from __future__ import annotations

RULES: dict = {}  # id -> (check, reference)


def rule(rule_id: str, reference: str):
    def register(check):
        RULES[rule_id] = (check, reference)
        return check

    return register
