"""Language handlers, one module per language, registered by kind in HANDLERS.

A handler is `handle(ctx, block) -> None`: it returns when the block passes and raises
BlockFailure (or lets the block's own exception through) when it does not. `ctx` is the
running document (runner.DocumentRun), seen through the Context protocol below.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from ..model import Block, Document


class Context(Protocol):
    doc: Document
    project: Path
    namespace: dict[str, object]
    loop: asyncio.AbstractEventLoop
    file_map: dict[str, Block]  # resolved path of a written file -> the block that wrote it


Handler = Callable[[Context, Block], None]
HANDLERS: dict[str, Handler] = {}


def handles(*kinds: str) -> Callable[[Handler], Handler]:
    def register(function: Handler) -> Handler:
        for kind in kinds:
            HANDLERS[kind] = function
        return function

    return register


from . import bash, data, python, tree  # noqa: E402, F401  (each registers its kinds)
