"""Tests: the event_loop fixture, AsyncClient(app=...)."""

from __future__ import annotations

import ast

from .nodes import calls, functions, keyword, name_of
from .project import Project
from .registry import rule


@rule("event-loop-fixture", "references/testing.md")
def event_loop_fixture(project: Project):
    for rel, _, tree in project.python:
        for function in functions(tree):
            if function.name == "event_loop" and any(
                "fixture" in (name_of(d.func) if isinstance(d, ast.Call) else name_of(d))
                for d in function.decorator_list
            ):
                yield (
                    rel,
                    function.lineno,
                    (
                        "a redefined event_loop fixture: pytest-asyncio 1.0 removed it; set the "
                        "loop scope with @pytest.mark.asyncio(loop_scope=...) or asyncio_default_"
                        "fixture_loop_scope, or use AnyIO's pytest plugin"
                    ),
                )


@rule("asyncclient-app", "references/testing.md")
def asyncclient_app(project: Project):
    for rel, _, tree in project.python:
        for call in calls(tree, "AsyncClient"):
            if keyword(call, "app") is not None:
                yield (
                    rel,
                    call.lineno,
                    (
                        "AsyncClient(app=...) is gone in httpx 0.28; write "
                        'AsyncClient(transport=ASGITransport(app=app), base_url="http://test")'
                    ),
                )
