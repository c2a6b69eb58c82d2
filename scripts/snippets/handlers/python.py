"""```python: plain blocks run in the document's namespace (top-level await allowed);
file= blocks are imported as modules; import=no files are only compiled here."""

from __future__ import annotations

import ast
import importlib
import inspect

from ..model import Block, BlockFailure, module_name
from . import Context, handles


@handles("python")
def run_python(ctx: Context, block: Block) -> None:
    if block.inline:  # a later block's tool loads it; here only its syntax is checked
        compile(parse_at_markdown_lines(ctx, block), ctx.doc.rel, "exec", dont_inherit=True)
        return
    if "file" in block.attrs:
        name = module_name(block.attrs["file"])
        if name is None:
            raise BlockFailure(
                f"{block.where}: file={block.attrs['file']} is not an importable module path"
            )
        importlib.import_module(name)
        return
    tree = parse_at_markdown_lines(ctx, block)
    flags = ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
    code = compile(tree, ctx.doc.rel, "exec", flags=flags, dont_inherit=True)
    result = eval(code, ctx.namespace)  # noqa: S307 - running the snippet is the point
    if inspect.iscoroutine(result):
        ctx.loop.run_until_complete(result)


def parse_at_markdown_lines(ctx: Context, block: Block) -> ast.Module:
    try:
        tree = ast.parse(block.code, filename=ctx.doc.rel)
    except SyntaxError as exc:  # at the markdown line, not the block's own
        exc.lineno = (exc.lineno or 1) + block.line
        if exc.end_lineno:
            exc.end_lineno += block.line
        raise
    ast.increment_lineno(tree, block.line)
    return tree
