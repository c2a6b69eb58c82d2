"""Lazy relationships read where async code cannot load them."""

from __future__ import annotations

import ast
import re

from .nodes import QUERY_METHODS, bodies, functions, method_call, name_of, session_like, strings
from .project import Project
from .registry import rule


def loaded_in(body, session: str) -> set[str]:
    """Names assigned in `body` from an awaited call on `session`."""
    names = set()
    for statement in body:
        for node in ast.walk(statement):
            if isinstance(node, ast.Assign) and any(
                isinstance(a, ast.Await)
                and session in {n.id for n in ast.walk(a) if isinstance(n, ast.Name)}
                for a in ast.walk(node.value)
            ):
                names.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return names


def lazy_reads(tree, loaded: set[str], lazy: set[str]):
    """`name.relationship` reads under `tree` of a loaded name and a lazy relationship."""
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in loaded
            and node.attr in lazy
        ):
            yield node


@rule("lazy-load-after-close", "references/query-optimization.md")
def lazy_after_close(project: Project):
    lazy = {name for name, eager in project.relationships.items() if not eager}
    if not lazy:
        return
    for rel, _, tree in project.python:
        for function in (f for f in functions(tree) if isinstance(f, ast.AsyncFunctionDef)):
            for body in bodies(function):
                yield from after_close(rel, body, lazy)


def after_close(rel: str, body: list, lazy: set):
    for index, statement in enumerate(body):
        if not isinstance(statement, ast.AsyncWith):
            continue
        sessions = [
            i.optional_vars.id for i in statement.items if isinstance(i.optional_vars, ast.Name)
        ]
        eager_text = ast.dump(statement)
        if not sessions or re.search(r"selectinload|joinedload|subqueryload|refresh", eager_text):
            continue
        loaded = set().union(*(loaded_in(statement.body, s) for s in sessions))
        for later in body[index + 1 :]:
            for node in lazy_reads(later, loaded, lazy):
                yield (
                    rel,
                    node.lineno,
                    (
                        f"{node.value.id}.{node.attr} is a lazy relationship read after its "
                        "session closed: under asyncio that raises MissingGreenlet or "
                        "DetachedInstanceError; load it in the query with selectinload()"
                    ),
                )
                return


# --- lazy relationships read inside async code --------------------------------------------

EAGER_TEXT = re.compile(
    r"selectinload|joinedload|subqueryload|immediateload|contains_eager|raiseload|"
    r"refresh|awaitable_attrs|run_sync|with_parent"
)


def lazy_select_relationships(project: Project) -> set[str]:
    """Relationship attributes that load on access (lazy="select", the default)."""
    found = set()
    for _, _, tree in project.python:
        for node in ast.walk(tree):
            value = getattr(node, "value", None)
            target = node.target if isinstance(node, ast.AnnAssign) else None
            if isinstance(node, ast.Assign) and len(node.targets) == 1:
                target = node.targets[0]
            if not (
                isinstance(value, ast.Call)
                and name_of(value.func) in ("relationship", "Relationship")
            ):
                continue
            lazy = [s for s in strings(value) if s in LAZY_STRATEGIES]
            if isinstance(target, ast.Name) and (not lazy or lazy == ["select"]):
                found.add(target.id)
    return found


LAZY_STRATEGIES = {"select", "selectin", "joined", "subquery", "immediate", "raise"}


LAZY_STRATEGIES |= {"raise_on_sql", "noload", "dynamic", "write_only"}


def loaded_from_session(function) -> set[str]:
    """Names bound in this function to objects an awaited session call returned."""
    names = set()
    for node in ast.walk(function):
        value = node.value if isinstance(node, ast.Assign) else getattr(node, "iter", None)
        targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
        if not isinstance(node, (ast.Assign, ast.For, ast.AsyncFor)) or value is None:
            continue
        awaited = [a for a in ast.walk(value) if isinstance(a, ast.Await)]
        if any(
            method in QUERY_METHODS and session_like(receiver)
            for a in awaited
            for receiver, method in [method_call(a.value)]
        ):
            names.update(t.id for t in targets if isinstance(t, ast.Name))
    return names


@rule("lazy-relationship-in-async", "references/query-optimization.md")
def lazy_relationship_in_async(project: Project):
    lazy = lazy_select_relationships(project)
    if not lazy:
        return
    after_close = {(rel, line) for rel, line, _ in lazy_after_close(project)}
    for rel, _, tree in project.python:
        for function in (f for f in functions(tree) if isinstance(f, ast.AsyncFunctionDef)):
            if EAGER_TEXT.search(ast.dump(function)):
                continue
            loaded = loaded_from_session(function)
            for node in lazy_reads(function, loaded, lazy):
                if (rel, node.lineno) not in after_close:
                    yield (
                        rel,
                        node.lineno,
                        (
                            f"{node.value.id}.{node.attr} is a lazy relationship read in async "
                            "code: the load it triggers cannot run under asyncio and raises "
                            "MissingGreenlet (a 500 where the code meant another answer); load it "
                            "in the query with selectinload(), or await "
                            f"{node.value.id}.awaitable_attrs.{node.attr}"
                        ),
                    )
                    break
