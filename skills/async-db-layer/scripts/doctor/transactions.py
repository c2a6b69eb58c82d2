"""Commits: after the response, reads after a commit, expired objects, writes a helper
never commits."""

from __future__ import annotations

import ast
import re

from .nodes import (
    bodies,
    calls,
    functions,
    has_unpacking,
    is_const,
    keyword,
    name_of,
    parameter_defaults,
)
from .project import Project
from .registry import rule


@rule("commit-after-response", "skills/async-db-layer/references/db-package.md")
def commit_after_response(project: Project):
    committing = set()
    for _, _, tree in project.python:
        for function in functions(tree):
            yields = [
                n.lineno for n in ast.walk(function) if isinstance(n, (ast.Yield, ast.YieldFrom))
            ]
            commits = [c.lineno for c in calls(function, "commit")]
            if yields and any(line > min(yields) for line in commits):
                committing.add(function.name)
    for rel, _, tree in project.python:
        reads_only = {id(c) for f in functions(tree) if only_reads(f) for c in calls(f, "Depends")}
        for call in calls(tree, "Depends", "Security"):
            target = name_of(call.args[0]) if call.args else ""
            if id(call) in reads_only:
                continue  # a GET route that writes nothing: a late commit loses nothing
            if target in committing and keyword(call, "scope") is None:
                yield (
                    rel,
                    call.lineno,
                    (
                        f'{target} commits after `yield`, and without scope="function" FastAPI '
                        "runs that after the response is sent: a failed commit still answers 2xx "
                        f'and the row is lost; write Depends({target}, scope="function") '
                        "(FastAPI 0.121 or newer)"
                    ),
                )


READ_METHODS = {"get", "head", "options"}


WRITE_CALLS = re.compile(
    r"^(add|add_all|delete|merge|flush|commit|save|create|update|upsert|remove|insert|bulk_\w+|"
    r"execute_write|(create|update|delete|save|insert|remove)_\w+|\w+_(create|update|delete))$"
)


READ_CALLS = re.compile(
    r"^(get|find|list|read|search|count|exists|fetch|scalar|scalars|refresh|"
    r"(get|find|list|read|search|count|fetch)_\w+|\w+_(by_\w+|exists|count))$"
)


def only_reads(function) -> bool:
    """A route that cannot write through its session: it calls nothing named like a write
    (`add`, `update`, `create_user`, ...), and it is declared for GET (or HEAD, OPTIONS) or
    its session only goes to calls that read (`find`, `get_by_email`, `execute(select())`)."""
    methods = {
        d.func.attr
        for d in function.decorator_list
        if isinstance(d, ast.Call) and isinstance(d.func, ast.Attribute)
    }
    if not methods:
        return False
    every = [c for c in ast.walk(function) if isinstance(c, ast.Call)]
    if any(WRITE_CALLS.match(name_of(c.func)) for c in every):
        return False
    if methods <= READ_METHODS:
        return True
    sessions = {
        a.arg
        for a, default in parameter_defaults(function)
        if "Depends" in ast.dump(default) or "Depends" in ast.dump(a.annotation or ast.Pass())
    }
    uses = [
        c
        for c in every
        if {n.id for n in [*c.args, getattr(c.func, "value", None)] if isinstance(n, ast.Name)}
        & sessions
    ]
    return bool(uses) and all(reads(c) for c in uses)


def reads(call: ast.Call) -> bool:
    name = name_of(call.func)
    if name == "execute":
        first = call.args[0] if call.args else None
        return isinstance(first, ast.Call) and "select" in ast.dump(first).lower()
    return bool(READ_CALLS.match(name))


def reads_after_commit(project: Project):
    """(rel, line, name) where async code reads an ORM object after `await X.commit()` (or
    after the `async with X.begin()` block that commits it) with no refresh in between. The
    objects: those added to the session, built by a class call, or loaded by an awaited call."""
    for rel, _, tree in project.python:
        for function in (f for f in functions(tree) if isinstance(f, ast.AsyncFunctionDef)):
            objects = orm_objects(function, project.models)
            for body in bodies(function):
                for index, statement in enumerate(body):
                    committed = is_awaited_call(statement, "commit") or (
                        isinstance(statement, ast.AsyncWith)
                        and any(
                            name_of(getattr(i.context_expr, "func", None)) == "begin"
                            for i in statement.items
                        )
                    )
                    if not committed:
                        continue
                    refreshed = set()
                    for later in body[index + 1 :]:
                        for node in ast.walk(later):
                            if is_awaited_call(node, "refresh") and not isinstance(node, ast.Expr):
                                refreshed.update(
                                    name_of(a)
                                    for a in node.value.args[:1]
                                    + [k.value for k in node.value.keywords]
                                )
                            used = (
                                node.value.id
                                if isinstance(node, ast.Attribute)
                                and isinstance(node.value, ast.Name)
                                else node.value.id
                                if isinstance(node, ast.Return) and isinstance(node.value, ast.Name)
                                else None
                            )
                            if used in objects and used not in refreshed:
                                yield rel, node.lineno, used
                                break


def is_awaited_call(node, method: str) -> bool:
    if isinstance(node, ast.Expr):
        node = node.value
    return (
        isinstance(node, ast.Await)
        and isinstance(node.value, ast.Call)
        and isinstance(node.value.func, ast.Attribute)
        and node.value.func.attr == method
    )


def orm_objects(function, models: set[str]) -> set[str]:
    names = set()
    for node in ast.walk(function):
        if isinstance(node, ast.Call) and name_of(node.func) in ("add", "add_all") and node.args:
            first = node.args[0]
            elements = first.elts if isinstance(first, (ast.List, ast.Tuple)) else [first]
            names.update(e.id for e in elements if isinstance(e, ast.Name))
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
            built = isinstance(value, ast.Call) and name_of(value.func) in models
            if isinstance(target, ast.Name) and (built or isinstance(value, ast.Await)):
                names.add(target.id)
    return names - {"session", "db", "db_session", "conn", "connection", "engine"}


@rule("expire-on-commit", "skills/async-sqlalchemy/references/fastapi-app.md")
def expire_on_commit(project: Project):
    evidence = next(iter(reads_after_commit(project)), None)
    if evidence is None:
        return  # nothing reads an object after a commit: expiring costs nothing here
    where, line, name = evidence
    for rel, _, tree in project.python:
        for call in calls(tree, "async_sessionmaker", "AsyncSession", "sessionmaker"):
            if not (call.args or call.keywords):
                continue  # calling a factory held in a variable of that name, not making one
            if (
                name_of(call.func) == "sessionmaker"
                and name_of(keyword(call, "class_")) != "AsyncSession"
            ):
                continue
            if has_unpacking(call) or is_const(keyword(call, "expire_on_commit"), False):
                continue
            yield (
                rel,
                call.lineno,
                (
                    f"{name_of(call.func)} without expire_on_commit=False: after commit every "
                    "attribute expires and the next read lazy-loads, which fails under asyncio "
                    f"(MissingGreenlet), as `{name}` at {where}:{line} is read after its commit; "
                    "pass expire_on_commit=False"
                ),
            )


# --- writes that are silently dropped -----------------------------------------------------

FLAG = re.compile(r"^(commit|commit_after|auto_?commit|do_commit|should_commit)$")


def write_statement(node, assigned: dict) -> bool:
    """An insert()/update()/delete() statement, or a name assigned one in the same function."""
    if isinstance(node, ast.Name):
        return node.id in assigned and write_statement(assigned[node.id], {})
    while isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        if node.func.attr in ("insert", "update", "delete") and not isinstance(
            node.func.value, ast.Call
        ):
            return True  # table.insert()
        node = node.func.value
    return isinstance(node, ast.Call) and name_of(node.func) in ("insert", "update", "delete")


@rule("commit-after-helper", "references/transactions.md")
def commit_after_helper(project: Project):
    helpers = {}  # function name -> (flag name, its position)
    for _, _, tree in project.python:
        for function in functions(tree):
            if "connect" not in {
                name_of(c.func) for c in ast.walk(function) if isinstance(c, ast.Call)
            }:
                continue
            for position, (argument, default) in enumerate(parameter_defaults(function)):
                if FLAG.match(argument.arg) and is_const(default, False):
                    helpers[function.name] = (argument.arg, position)
    if not helpers:
        return
    for rel, _, tree in project.python:
        for function in functions(tree):
            assigned = {
                n.targets[0].id: n.value
                for n in ast.walk(function)
                if isinstance(n, ast.Assign)
                and len(n.targets) == 1
                and isinstance(n.targets[0], ast.Name)
            }
            for call in calls(function, *helpers):
                flag, position = helpers[name_of(call.func)]
                given = keyword(call, flag)
                if given is None and len(call.args) > position:
                    given = call.args[position]
                if given is not None and not is_const(given, False):
                    continue
                if call.args and write_statement(call.args[0], assigned):
                    yield (
                        rel,
                        call.lineno,
                        (
                            f"{name_of(call.func)}() runs a write on a connection it opens with "
                            f"connect() and commits only when {flag}=True: without it the write "
                            "is rolled back when the connection closes, and the caller sees it "
                            f"succeed; pass {flag}=True, or open the connection with begin()"
                        ),
                    )
