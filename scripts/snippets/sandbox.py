"""The sandbox: process state a document run changes, saved before and restored after.

A document runs in this process (so its blocks share a namespace and an event loop). It
changes the environment, the working folder, sys.path and sys.modules, SQLModel's global
registry and the current event loop; `Sandbox.restore` puts every one of them back.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import os
import sys
from pathlib import Path


class Sandbox:
    def __init__(self, project: Path) -> None:
        self.project = project
        self.env = dict(os.environ)
        self.cwd = os.getcwd()
        self.path = list(sys.path)
        self.modules = set(sys.modules)
        self.loop: asyncio.AbstractEventLoop | None = None

    def enter(self, env: dict[str, str]) -> asyncio.AbstractEventLoop:
        os.environ.update(env)
        os.chdir(self.project)
        sys.path.insert(0, str(self.project))
        importlib.invalidate_caches()
        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)
        return self.loop

    def owns(self, module: object) -> bool:
        """Whether a module was loaded from the project (packages without __init__.py have
        no __file__, only __path__)."""
        if module is None:
            return False
        search = getattr(module, "__path__", [])
        try:
            paths = list(search)
        except Exception:  # a namespace package whose parent is already gone recomputes and fails
            paths = list(getattr(search, "_path", []))
        places = [getattr(module, "__file__", None) or "", *paths]
        return any(str(p).startswith(str(self.project)) for p in places)

    def project_modules(self) -> list[object]:
        return [m for m in list(sys.modules.values()) if self.owns(m)]

    def restore(self, namespace: dict[str, object], module_name: str) -> None:
        try:
            self._close_loop(namespace)
        finally:
            forget_sqlmodel_tables()
            sys.modules.pop(module_name, None)
            for name in set(sys.modules) - self.modules:
                if self.owns(sys.modules.get(name)):
                    del sys.modules[name]
            sys.path[:] = self.path
            os.chdir(self.cwd)
            os.environ.clear()
            os.environ.update(self.env)

    def _close_loop(self, namespace: dict[str, object]) -> None:
        if self.loop is None:
            return
        with contextlib.suppress(Exception):
            for engine in self.open_engines(namespace):
                self.loop.run_until_complete(engine.dispose())
            self.loop.run_until_complete(self.loop.shutdown_asyncgens())
        self.loop.close()
        asyncio.set_event_loop(None)

    def open_engines(self, namespace: dict[str, object]) -> list[object]:
        """Engines a document left open (its database cannot be dropped before they close)."""
        try:
            from sqlalchemy.ext.asyncio import AsyncEngine
        except ImportError:
            return []
        values = list(namespace.values())
        for module in self.project_modules():
            values.extend(vars(module).values())
        seen: list[object] = []
        for value in values:
            if isinstance(value, AsyncEngine) and value not in seen:
                seen.append(value)
        return seen


def forget_sqlmodel_tables() -> None:
    """SQLModel keeps every table model in one process-wide registry and MetaData; the next
    document (or backend) defines its own `User` and `users` again."""
    main = sys.modules.get("sqlmodel.main")
    if main is not None:
        main.default_registry.dispose()
        main.SQLModel.metadata.clear()
