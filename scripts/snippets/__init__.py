"""Pull every fenced code block out of the plugin's prompts and run or check it.

The prompts (commands/, skills/, agents/, references/) are the product; this package keeps
the promise that every code block in them has been run. Its seams, in the style of Sybil:

    model.py          Block, Document, Outcome; which backends a block runs on
    parse.py          markdown -> Document (markdown-it), info strings, directives
    handlers/         one module per language, registered by kind in handlers.HANDLERS
    sandbox.py        process state a run changes, saved and restored
    database.py       a fresh database per run (SQLite file, or PostgreSQL)
    runner.py         DocumentRun: start, run(block), finish, close; run_document()
    install.py, loads.py  checks the handlers use
    ruff.py           ruff check/format over the Python blocks, one RuffConfig
    pytest_plugin.py  one test item per block; set-up and teardown once per document
    cli.py            python scripts/snippets list|format

Annotation convention (the info string after the fence's backticks):

    ```python                         run in the document's namespace, in order
    ```python file=db/core/engine.py  written into the temporary project, imported as a module
    ```bash                           run in the temporary project (pip/uv install lines are
                                      checked against pyproject.toml instead of run)
    ```dotenv reads=pkg.mod:Settings  parsed; every key must be read by that settings class
    ```ini / toml / json / yaml       parsed (reads=module:callable is called with the file)
    ```tree                           compared with the files the document's code created
    ```LANG skip="reason"             not run; the reason is printed and counted
    ```LANG backend=postgres          only under that backend (comma-separated list)
    ```LANG when=mysql                which backend or option scaffold_db.py writes it for
    ```python file=migrations/env.py import=no
                                      written when its turn comes and not imported: a tool
                                      run by a later block loads it (Alembic's env.py, revision
                                      scripts); by the end of the document some process must
                                      have compiled this very version

A document runs on SQLite unless a comment in it asks for more, and it may build on the
files of other documents (paths relative to it):

    <!-- snippets: backends=sqlite,postgres uses=models.md,servicebase.md -->

The runner exports DATABASE_URL (an async SQLAlchemy URL for a fresh, empty database) to
the code it runs.
"""

from .database import postgres_admin_url
from .model import (
    LANGUAGES,
    ROOT,
    Block,
    BlockFailure,
    BlockSkipped,
    Document,
    Outcome,
    module_name,
    ordered,
    planned,
    rel_path,
    untouched,
)
from .parse import iter_blocks, parse_document, parse_text, prompt_files, used_documents
from .ruff import RuffConfig, format_document, ruff_findings
from .runner import DocumentRun, materialize, project_files, run_document

__all__ = [
    "LANGUAGES",
    "ROOT",
    "Block",
    "BlockFailure",
    "BlockSkipped",
    "Document",
    "DocumentRun",
    "Outcome",
    "RuffConfig",
    "format_document",
    "iter_blocks",
    "materialize",
    "module_name",
    "ordered",
    "parse_document",
    "parse_text",
    "planned",
    "postgres_admin_url",
    "project_files",
    "prompt_files",
    "rel_path",
    "ruff_findings",
    "run_document",
    "untouched",
    "used_documents",
]
