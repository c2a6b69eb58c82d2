"""The async session's API misused, and sessions shared between tasks or requests."""

from __future__ import annotations

import ast
import re

from .nodes import (
    QUERY_METHODS,
    SESSION_NAME,
    calls,
    functions,
    keyword,
    method_call,
    name_of,
    parameter_defaults,
    session_like,
)
from .project import Project
from .registry import rule


def session_args(call) -> set[str]:
    names = set()
    for arg in [*call.args, *(k.value for k in call.keywords)]:
        if isinstance(arg, ast.Name) and SESSION_NAME.search(arg.id):
            names.add(arg.id)
    return names


@rule("shared-session-concurrency", "skills/async-sqlmodel/references/best-practices.md")
def shared_session(project: Project):
    for rel, _, tree in project.python:
        for gather in calls(tree, "gather"):
            seen: dict[str, int] = {}
            for arg in gather.args:
                if isinstance(arg, ast.Starred) and isinstance(
                    arg.value, (ast.GeneratorExp, ast.ListComp)
                ):
                    element = arg.value.elt
                    for name in session_args(element) if isinstance(element, ast.Call) else ():
                        seen[name] = seen.get(name, 0) + 2
                elif isinstance(arg, ast.Call):
                    for name in session_args(arg):
                        seen[name] = seen.get(name, 0) + 1
            yield from shared(rel, gather.lineno, seen, "asyncio.gather")
        for function in functions(tree):
            seen = {}
            for task in calls(function, "create_task"):
                inner = task.args[0] if task.args and isinstance(task.args[0], ast.Call) else None
                for name in session_args(inner) if inner is not None else ():
                    seen[name] = seen.get(name, 0) + 1
            yield from shared(rel, function.lineno, seen, "tasks")


def shared(rel: str, line: int, seen: dict, where: str):
    for name, count in seen.items():
        if count > 1:
            yield (
                rel,
                line,
                (
                    f"one session `{name}` is used by concurrent {where}: an AsyncSession and its "
                    "connection cannot run two statements at once (InterfaceError / "
                    "IllegalStateChangeError); give each task its own session"
                ),
            )


# --- the async session's API misused ----------------------------------------------------

SYNC_METHODS = {"add", "add_all", "expunge", "expunge_all", "is_modified", "in_transaction"}


SYNC_METHODS |= {"in_nested_transaction", "get_bind", "enable_relationship_loading"}


COROUTINES = QUERY_METHODS | {"commit", "rollback", "close", "flush", "refresh", "delete"}


COROUTINES |= {"merge", "run_sync", "invalidate", "reset", "connection", "get_one"}


def dotted(node) -> str:
    """`self.session` for an attribute chain of names, `...` for anything else."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{dotted(node.value)}.{node.attr}"
    return "..."


@rule("awaited-sync-method", "skills/async-sqlalchemy/references/fastapi-app.md")
def awaited_sync_method(project: Project):
    if not project.is_async:
        return
    for rel, _, tree in project.python:
        for node in ast.walk(tree):
            receiver, method = (
                method_call(node.value) if isinstance(node, ast.Await) else (None, "")
            )
            if method in SYNC_METHODS and session_like(receiver):
                yield (
                    rel,
                    node.lineno,
                    (
                        f"`await {dotted(receiver)}.{method}(...)`: {method}() is a plain "
                        "method of AsyncSession, not a coroutine; awaiting its None raises "
                        f"TypeError after it ran; call it without await"
                    ),
                )


@rule("result-of-coroutine", "skills/async-sqlalchemy/references/fastapi-app.md")
def result_of_coroutine(project: Project):
    for rel, _, tree in project.python:
        for node in ast.walk(tree):
            if not isinstance(node, ast.Await) or not isinstance(node.value, ast.Call):
                continue
            inner = node.value.func
            while isinstance(inner, (ast.Attribute, ast.Call)):
                inner = inner.value if isinstance(inner, ast.Attribute) else inner.func
                receiver, method = method_call(inner)
                if method in QUERY_METHODS and session_like(receiver):
                    session = f"{dotted(receiver)}.{method}"
                    late = (
                        node.value.func.attr if isinstance(node.value.func, ast.Attribute) else ""
                    )
                    yield (
                        rel,
                        node.lineno,
                        (
                            f"`await {session}(...)...{late}()` awaits too late: {session}() "
                            f"returns a coroutine, which has no .{late}() (AttributeError); "
                            f"write (await {session}(...)).{late}()"
                        ),
                    )
                    break


def async_names(function) -> set[str]:
    """Names that hold something async in this function: awaited on elsewhere, bound by
    `async with ... as name`, or annotated AsyncSession/AsyncConnection."""
    names = set()
    for node in ast.walk(function):
        receiver, _ = method_call(node.value) if isinstance(node, ast.Await) else (None, "")
        if isinstance(receiver, (ast.Name, ast.Attribute)):
            names.add(dotted(receiver))  # `session`, `self.session`
        if isinstance(node, ast.AsyncWith):
            names.update(
                i.optional_vars.id for i in node.items if isinstance(i.optional_vars, ast.Name)
            )
    for argument, _ in parameter_defaults(function):
        if re.search(r"Async(Session|Connection)", ast.dump(argument.annotation or ast.Pass())):
            names.add(argument.arg)
    return names


def annotated_async(function) -> set[str]:
    return {
        a.arg
        for a, _ in parameter_defaults(function)
        if re.search(r"Async(Session|Connection)", ast.dump(a.annotation or ast.Pass()))
    }


@rule("unawaited-session-call", "skills/async-sqlalchemy/references/fastapi-app.md")
def unawaited_session_call(project: Project):
    for rel, _, tree in project.python:
        for function in (f for f in functions(tree) if isinstance(f, ast.AsyncFunctionDef)):
            held = async_names(function)
            for node in ast.walk(function):
                receiver, method = (
                    method_call(node.value) if isinstance(node, ast.Expr) else (None, "")
                )
                where = dotted(receiver) if receiver is not None else "..."
                if (
                    method in COROUTINES
                    and where in held
                    and (session_like(receiver) or where in annotated_async(function))
                ):
                    yield (
                        rel,
                        node.lineno,
                        (
                            f"`{where}.{method}(...)` without await: on an async session "
                            "it only makes a coroutine, which never runs (nothing is "
                            f"{'rolled back' if method == 'rollback' else 'done'}; Python "
                            "warns 'coroutine was never awaited'); write "
                            f"await {where}.{method}(...)"
                        ),
                    )


def session_factories(tree) -> set[str]:
    """Module-level names bound to async_sessionmaker(...) or sessionmaker(class_=AsyncSession)."""
    names = set()
    for node in tree.body if isinstance(tree, ast.Module) else ():
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
            made = name_of(node.value.func)
            if made == "async_sessionmaker" or (
                made == "sessionmaker" and name_of(keyword(node.value, "class_")) == "AsyncSession"
            ):
                names.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return names


def makes_session(value, factories: set[str]) -> bool:
    return isinstance(value, ast.Call) and (
        name_of(value.func) == "AsyncSession"
        or (isinstance(value.func, ast.Name) and value.func.id in factories)
    )


@rule("global-async-session", "skills/async-sqlmodel/references/best-practices.md")
def global_async_session(project: Project):
    singletons = set()  # classes the project instantiates once, at module level
    for _, _, tree in project.python:
        for node in tree.body:
            if isinstance(node, (ast.Assign, ast.AnnAssign)) and isinstance(node.value, ast.Call):
                singletons.add(name_of(node.value.func))
    for rel, _, tree in project.python:
        factories = session_factories(tree)
        found = [
            n
            for n in tree.body
            if isinstance(n, (ast.Assign, ast.AnnAssign)) and makes_session(n.value, factories)
        ]
        for cls in (n for n in tree.body if isinstance(n, ast.ClassDef) and n.name in singletons):
            for init in (
                f for f in cls.body if isinstance(f, ast.FunctionDef) and f.name == "__init__"
            ):
                found += [
                    n
                    for n in ast.walk(init)
                    if isinstance(n, (ast.Assign, ast.AnnAssign))
                    and makes_session(n.value, factories)
                ]
        for node in found:
            yield (
                rel,
                node.lineno,
                (
                    "one AsyncSession made once for the whole process: every request shares it, "
                    "so concurrent requests run on one connection and one transaction "
                    "(IllegalStateChangeError, one request's rollback undoing another's work); "
                    "open a session per request in a dependency"
                ),
            )
