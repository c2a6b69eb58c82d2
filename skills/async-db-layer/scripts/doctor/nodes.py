"""Small readings of the syntax tree the rules share."""

from __future__ import annotations

import ast
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only: project.py reads the tree with these helpers
    from .project import Project


def name_of(node) -> str:
    """`a.b.c` -> "c", `f` -> "f", anything else -> ""."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def calls(tree, *names: str):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and name_of(node.func) in names:
            yield node


def keyword(call: ast.Call, name: str):
    for item in call.keywords:
        if item.arg == name:
            return item.value
    return None


def has_unpacking(call: ast.Call) -> bool:
    return any(item.arg is None for item in call.keywords)


def is_const(node, value) -> bool:
    return isinstance(node, ast.Constant) and node.value is value


def strings(node) -> list[str]:
    return [
        n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)
    ]


def functions(tree):
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node


def bodies(function):
    for node in ast.walk(function):
        for field in ("body", "orelse", "finalbody"):
            value = getattr(node, field, None)
            if isinstance(value, list) and value and isinstance(value[0], ast.stmt):
                yield value


def parameter_defaults(function):
    """(argument, default or a placeholder) for each parameter of a function."""
    arguments = function.args
    positional = arguments.posonlyargs + arguments.args
    offset = len(positional) - len(arguments.defaults)
    pairs = [
        (a, arguments.defaults[i - offset] if i >= offset else None)
        for i, a in enumerate(positional)
    ]
    pairs += [(a, arguments.kw_defaults[i]) for i, a in enumerate(arguments.kwonlyargs)]
    return [(a, d if d is not None else ast.Pass()) for a, d in pairs]


def sqlalchemy_stays_on_2_0(project: Project) -> bool:
    """Whether the project's requirements keep SQLAlchemy below 2.1."""
    for rel, text in project.texts:
        if not (rel.endswith("pyproject.toml") or re.search(r"requirements[^/]*\.txt$", rel)):
            continue
        if sqlmodel_caps_sqlalchemy(text):
            return True
        for spec in re.findall(
            r"""^\s*["']?sqlalchemy(?:\[[^\]]*\])?\s*=?\s*["']?([^"'#\n]*)""", text, re.I | re.M
        ):
            if below_2_1(spec):
                return True
    return False


QUERY_METHODS = {"execute", "scalars", "scalar", "stream", "stream_scalars", "exec", "get"}


def session_like(node) -> bool:
    """`session`, `db`, `self.session`, `request.state.db`: a name a session goes by."""
    name = node.id if isinstance(node, ast.Name) else getattr(node, "attr", "")
    return bool(SESSION_NAME.search(name))


def method_call(node):
    """(receiver, method) of `receiver.method(...)`, else (None, "")."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        return node.func.value, node.func.attr
    return None, ""


def sqlmodel_caps_sqlalchemy(text: str) -> bool:
    """SQLModel up to 0.0.3x requires SQLAlchemy below 2.1: a requirement that keeps sqlmodel
    there (<0.0.40, ==0.0.3x, poetry's ^0.0.3x or ~0.0.3x) keeps SQLAlchemy on 2.0."""
    for spec in re.findall(
        r"""^\s*["']?sqlmodel(?![\w.-])\s*=?\s*["']?([^"'#\n]*)""", text, re.I | re.M
    ):
        bound = re.search(r"<\s*0\.0\.(\d+)", spec)
        pinned = re.search(r"(?:==|\^|~=?)\s*0\.0\.(\d+)", spec)
        if (bound and int(bound.group(1)) <= 40) or (pinned and int(pinned.group(1)) < 40):
            return True
    return False


def below_2_1(spec: str) -> bool:
    """Whether a version requirement keeps SQLAlchemy below 2.1 (greenlet still comes along):
    pip's <2.1, ==2.0.x, ~=2.0.x (~=2.0 allows 2.1); poetry's ~2.0 and 2.0.x."""
    spec = spec.replace(" ", "")
    return bool(re.search(r"<2\.1|<=?2\.0|==2\.0|~=2\.0\.\d|(^|,)~2\.0|^2\.0(\.\d+|\.\*)?$", spec))


SESSION_NAME = re.compile(r"^(session|db|db_session|s)$|session$")
