"""The recipe lines a make or just target runs, read from its Makefile or justfile:
variables expanded where the file sets them, prerequisites first, each target once."""

from __future__ import annotations

import re

MAKE_VARIABLE = re.compile(r"^([A-Za-z_][A-Za-z0-9_.-]*)\s*(?:\?|:{1,3}|\+|!)?=\s*(.*)$")
MAKE_RULE = re.compile(r"^([^\t:=#][^:=#]*?)\s*::?(?!=)\s*(.*)$")
MAKE_REFERENCE = re.compile(r"\$[({]([A-Za-z_][A-Za-z0-9_.-]*)[)}]")
MAX_TARGETS = 50


def makefile_recipes(text: str, targets: list[str], overrides: dict[str, str]) -> list[str]:
    variables: dict[str, str] = {}
    rules: dict[str, tuple[list[str], list[str]]] = {}
    order: list[str] = []
    current: list[str] | None = None
    for line in joined_lines(text):
        if line.startswith("\t"):
            if current is not None:
                current.append(line[1:])
            continue
        stripped = line.split("#", 1)[0].rstrip()
        variable = MAKE_VARIABLE.match(stripped)
        if variable:
            variables[variable.group(1)] = variable.group(2)
            continue
        rule = MAKE_RULE.match(stripped)
        if rule:
            prerequisites, _, inline = rule.group(2).partition(";")
            current = [inline.strip()] if inline.strip() else []
            for name in rule.group(1).split():
                known = rules.setdefault(name, ([], current))
                known[0].extend(prerequisites.split())
                if known[1] is not current and not known[1]:
                    rules[name] = (known[0], current)
                if not name.startswith(".") and "%" not in name:
                    order.append(name)
            continue
        if stripped:
            current = None
    variables.update(overrides)
    wanted = targets or order[:1]
    lines: list[str] = []
    seen: set[str] = set()

    def visit(name: str, depth: int) -> None:
        if name in seen or depth > 8 or len(seen) > MAX_TARGETS or name not in rules:
            return
        seen.add(name)
        prerequisites, recipe = rules[name]
        for prerequisite in prerequisites:
            visit(expand(prerequisite, variables, name), depth + 1)
        for line in recipe:
            lines.append(expand(line, variables, name).lstrip("@-+ \t"))

    for target in wanted:
        visit(target, 0)
    return lines


def expand(text: str, variables: dict[str, str], target: str, depth: int = 0) -> str:
    if depth > 5:
        return text
    text = text.replace("$$", "\0").replace("$@", target).replace("$(MAKE)", "make")
    expanded = MAKE_REFERENCE.sub(lambda m: variables.get(m.group(1), m.group(0)), text)
    if expanded != text and MAKE_REFERENCE.search(expanded):
        expanded = expand(expanded, variables, target, depth + 1)
    return expanded.replace("\0", "$")


def joined_lines(text: str) -> list[str]:
    out: list[str] = []
    for line in text.splitlines():
        if out and out[-1].endswith("\\"):
            out[-1] = out[-1][:-1] + " " + line.lstrip("\t ")
        else:
            out.append(line)
    return out


JUST_RECIPE = re.compile(r"^@?([A-Za-z_][A-Za-z0-9_-]*)([^:=]*):(?!=)\s*(.*)$")


def justfile_recipes(text: str, targets: list[str]) -> list[str]:
    rules: dict[str, tuple[list[str], list[str]]] = {}
    order: list[str] = []
    current: list[str] | None = None
    for line in joined_lines(text):
        if line[:1] in (" ", "\t") and current is not None:
            if line.strip():
                current.append(line.strip().lstrip("@-"))
            continue
        match = JUST_RECIPE.match(line)
        if match:
            current = []
            rules[match.group(1)] = (
                [d for d in match.group(3).split() if d.isidentifier() or "-" in d],
                current,
            )
            order.append(match.group(1))
        elif line.strip():
            current = None
    lines: list[str] = []
    seen: set[str] = set()

    def visit(name: str, depth: int) -> None:
        if name in seen or depth > 8 or name not in rules:
            return
        seen.add(name)
        for dependency in rules[name][0]:
            visit(dependency, depth + 1)
        lines.extend(rules[name][1])

    for target in targets or order[:1]:
        visit(target, 0)
    return lines
