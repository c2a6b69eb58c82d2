"""```tree: a drawn directory tree, compared with the files the document's code created."""

from __future__ import annotations

import re
from pathlib import Path

from ..model import Block, BlockFailure
from . import Context, handles

TREE_LINE = re.compile(r"^((?:(?:│|\|)\s{3}|\s{4})*)(?:├──|└──|\|--|`--)\s+(.*)$")
IGNORED_PARTS = {"__pycache__", ".pytest_cache", ".ruff_cache"}


@handles("tree")
def run_tree(ctx: Context, block: Block) -> None:
    problems = compare_tree(block, parse_tree(block), ctx.project)
    if problems:
        raise BlockFailure("\n".join(problems))


def parse_tree(block: Block) -> list[str]:
    """Read a drawn directory tree into relative paths (directories end with /)."""
    paths: list[str] = []
    stack: list[str | None] = []  # directory names from the root down; None under a file
    for offset, raw in enumerate(block.code.splitlines(), start=1):
        if not raw.strip():
            continue
        where = f"{block.rel}:{block.line + offset}"
        text = re.sub(r"\s+#\s.*$", "", raw.rstrip())
        match = TREE_LINE.match(text)
        if match:
            depth = len(match.group(1)) // 4 + 1
            name = match.group(2).strip()
        elif not raw[:1].isspace() and not raw.startswith(("│", "|")):
            depth, name = 0, text.strip()
        else:
            raise BlockFailure(f"{where}: cannot read this tree line: {raw!r}")
        if depth > len(stack) or (depth and stack[depth - 1] is None):
            raise BlockFailure(f"{where}: {name!r} is not under a directory of the line above")
        stack = stack[:depth]
        paths.append("".join(s for s in stack if s) + name)
        stack.append(name if name.endswith("/") else None)
    return paths


def compare_tree(block: Block, entries: list[str], project: Path) -> list[str]:
    problems = []
    for entry in entries:
        path = project / entry
        exists = path.is_dir() if entry.endswith("/") else path.is_file()
        if not exists:
            problems.append(f"{block.where}: the tree shows {entry} but no code created it")
    listed = {e.rstrip("/") for e in entries}
    tops = {e.split("/", 1)[0] + ("/" if "/" in e else "") for e in entries}
    for top in tops:
        if not top.endswith("/") or not (project / top).is_dir():
            continue
        for path in sorted((project / top).rglob("*")):
            rel = path.relative_to(project)
            if IGNORED_PARTS & set(rel.parts) or path.suffix == ".pyc":
                continue
            if rel.as_posix() not in listed:
                problems.append(
                    f"{block.where}: the code creates {rel.as_posix()}, the tree omits it"
                )
    return problems
