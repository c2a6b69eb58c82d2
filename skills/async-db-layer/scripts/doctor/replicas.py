"""Replicas and read sessions: routing inside a transaction, a write through a read session."""

from __future__ import annotations

import ast
import re

from .nodes import method_call, name_of, strings
from .project import Project
from .registry import rule

# in ast.dump(): a get_bind that looks at the session's transaction or state
ROUTING_AWARE = re.compile(r"in_transaction|_transaction'|'info'|for_update|'dirty'|'new'")


@rule("replica-routing-in-transaction", "skills/async-db-layer/references/db-package.md")
def replica_routing(project: Project):
    for rel, _, tree in project.python:
        for cls in (n for n in ast.walk(tree) if isinstance(n, ast.ClassDef)):
            for function in cls.body:
                if not isinstance(function, ast.FunctionDef) or function.name != "get_bind":
                    continue
                body = ast.dump(function)
                returns = {
                    ast.dump(r.value)
                    for r in ast.walk(function)
                    if isinstance(r, ast.Return) and r.value
                }
                by_statement = re.search(  # flushes and statement types, read in ast.dump()
                    r"_flushing|\b(Insert|Update|Delete|UpdateBase)\b|is_(insert|update|delete)",
                    body,
                )
                if len(returns) >= 2 and by_statement and not ROUTING_AWARE.search(body):
                    yield (
                        rel,
                        function.lineno,
                        (
                            "get_bind() sends every statement that is not a flush or an "
                            "INSERT/UPDATE/DELETE to the reader, also inside a transaction that "
                            "has written: a read right after a write misses it (another "
                            "connection, and a replica that may lag), and SELECT ... FOR UPDATE "
                            "goes to a "
                            "read-only standby; route by the session (a read session and a write "
                            "session), or send a session to the writer once it has written"
                        ),
                    )


# --- a write through a session that reads (a replica's, or one without a transaction) ------

READ_SESSION = re.compile(r"Read\w*Session|Replica\w*Session|get_read_session|read_session")


WRITE_METHODS = {"add", "add_all", "delete", "merge", "commit", "bulk_save_objects"}


WRITE_METHODS |= {"bulk_insert_mappings", "bulk_update_mappings"}


WRITE_SQL = re.compile(r"\s*(insert|update|delete|merge|create|drop|alter|truncate)\b", re.I)


def read_session_parameters(function) -> set[str]:
    """Parameters that receive a read session: annotated ReadSession, ReadSessionDep, ...,
    or defaulting to Depends(get_read_session)."""
    args = function.args
    params = [*args.posonlyargs, *args.args, *args.kwonlyargs]
    defaults = [None] * (len(args.posonlyargs) + len(args.args) - len(args.defaults))
    defaults += [*args.defaults, *args.kw_defaults]
    found = set()
    for param, default in zip(params, defaults):  # noqa: B905 - strict= needs 3.10; same length
        names = [
            name_of(n)
            for part in (param.annotation, default)
            if part is not None
            for n in ast.walk(part)
            if isinstance(n, (ast.Name, ast.Attribute))
        ]
        if any(READ_SESSION.fullmatch(name) or READ_SESSION.search(name) for name in names):
            found.add(param.arg)
    return found


@rule("write-through-read-session", "skills/async-db-layer/references/db-package.md")
def write_through_read_session(project: Project):
    for rel, _, tree in project.python:
        for function in ast.walk(tree):
            if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            readers = read_session_parameters(function)
            for call in (n for n in ast.walk(function) if isinstance(n, ast.Call)):
                receiver, method = method_call(call)
                if not isinstance(receiver, ast.Name) or receiver.id not in readers:
                    continue
                statement = call.args[0] if call.args else None
                writes = method in WRITE_METHODS or (
                    method in ("execute", "exec", "scalar", "scalars")
                    and statement is not None
                    and (
                        name_of(getattr(statement, "func", None)) in ("insert", "update", "delete")
                        or any(WRITE_SQL.match(s) for s in strings(statement))
                    )
                )
                if writes:
                    yield (
                        rel,
                        call.lineno,
                        (
                            f"{receiver.id}.{method}() writes through a read session (no "
                            "transaction, or a read replica): the layer refuses it and the "
                            "request fails; take the write session (DBSession / SessionDep) "
                            "in a route that writes"
                        ),
                    )
