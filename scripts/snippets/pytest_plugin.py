"""pytest integration: every prompt document is a test file, every block a test item.

    pytest skills/async-db-layer/references/db-package.md       one document
    pytest -k "db-package.md and postgres"                      one backend of it

Tree: MarkdownFile (a document) -> BackendRun (one backend; its setup() starts the
document's run, its teardown() closes it, both through pytest's own SetupState) ->
BlockItem (one block). Each document also gets a `directive` item (its directive reads, every
block runs somewhere) and a `ruff` item (its Python blocks pass ruff check and format); a
backend whose document has import=no files ends with a `loaded` item.

An item selected on its own (-k) first runs the blocks before it, so it sees what they made.
Registered by tests/conftest.py (`pytest_plugins`); for files outside the repository run
`PYTHONPATH=scripts pytest -p snippets.pytest_plugin FILE.md`.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

import pytest

from .database import postgres_admin_url
from .model import PROMPT_DIRS, ROOT, Block, BlockFailure, BlockSkipped, Document, ordered
from .model import untouched as untouched_blocks
from .parse import parse_document, prompt_files
from .ruff import RuffConfig, ruff_findings
from .runner import DocumentRun

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
STATS = {"document_runs": 0, "blocks": 0}  # counted, reported in the terminal summary


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "postgres: needs the PostgreSQL server (TEST_POSTGRES_URL)")


def pytest_collect_file(file_path: Path, parent: pytest.Collector):
    if file_path.suffix != ".md":
        return None
    prompts = [ROOT / d for d in PROMPT_DIRS]
    if parent.session.isinitpath(file_path) or any(p in file_path.parents for p in prompts):
        return MarkdownFile.from_parent(parent, path=file_path)
    return None


def pytest_terminal_summary(terminalreporter) -> None:
    if STATS["document_runs"]:
        terminalreporter.write_line(
            f"snippets: {STATS['blocks']} blocks in {STATS['document_runs']} document runs"
        )


@cache
def ruff_config() -> RuffConfig:
    return RuffConfig.for_documents([parse_document(p) for p in prompt_files()])


class MarkdownFile(pytest.File):
    def collect(self):
        doc = parse_document(self.path)
        yield DocumentItem.from_parent(self, name="directive", doc=doc)
        if doc.error:
            return
        if any(b.kind == "python" and not b.error and not b.skipped for b in doc.blocks):
            yield RuffItem.from_parent(self, name="ruff", doc=doc)
        for backend in doc.backends:
            yield BackendRun.from_parent(self, name=backend, doc=doc, backend=backend)


class BackendRun(pytest.Collector):
    def __init__(self, *, doc: Document, backend: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.doc, self.backend = doc, backend
        self.blocks = ordered(doc, backend)
        self.run: DocumentRun | None = None
        self.done: set[int] = set()  # indexes of blocks already run
        if backend == "postgres":
            self.add_marker(pytest.mark.postgres)

    def collect(self):
        for index, block in enumerate(self.blocks):
            name = f"{block.line}[{block.lang or 'no-language'}]"
            yield BlockItem.from_parent(self, name=name, block=block, index=index)
        if any(b.inline and not b.error for b in self.blocks):
            yield LoadedItem.from_parent(self, name="loaded")

    def setup(self) -> None:
        if self.backend == "postgres" and not postgres_admin_url():
            message = "no PostgreSQL server: set TEST_POSTGRES_URL, or run scripts/test.sh"
            if IN_CI:
                pytest.fail(f"CI=true and {message}", pytrace=False)
            pytest.skip(message)
        self.run = DocumentRun(self.doc, self.backend)
        STATS["document_runs"] += 1
        report(self.run.start)

    def teardown(self) -> None:
        if self.run is not None:
            self.run.close()
            self.run = None

    def run_through(self, index: int) -> None:
        """Run the blocks before `index` that have not run yet (a -k selection)."""
        for earlier in range(index):
            if earlier not in self.done:
                self.done.add(earlier)
                try:
                    self.run.run(self.blocks[earlier])
                except (BlockFailure, BlockSkipped):
                    pass  # recorded in run.failed; the block's own item reports it


def report(step, *args) -> None:
    """Run one step; a BlockFailure fails the item with its own message (no traceback of
    ours), a BlockSkipped skips it."""
    skipped = failed = None
    try:
        step(*args)
    except BlockSkipped as exc:
        skipped = str(exc)
    except BlockFailure as exc:
        failed = str(exc)
    if failed is not None:
        pytest.fail(failed, pytrace=False)
    if skipped is not None:
        pytest.skip(skipped)


class BlockItem(pytest.Item):
    def __init__(self, *, block: Block, index: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.block, self.index = block, index

    def runtest(self) -> None:
        owner: BackendRun = self.parent
        owner.run_through(self.index)
        owner.done.add(self.index)
        STATS["blocks"] += 1
        report(owner.run.run, self.block)

    def reportinfo(self):
        return self.path, self.block.line - 1, self.block.id


class LoadedItem(pytest.Item):
    """Every import=no Python file was loaded by some later block."""

    def runtest(self) -> None:
        owner: BackendRun = self.parent
        owner.run_through(len(owner.blocks))
        report(owner.run.finish)


class DocumentItem(pytest.Item):
    """The document's directive reads, and every block runs on at least one backend."""

    def __init__(self, *, doc: Document, **kwargs) -> None:
        super().__init__(**kwargs)
        self.doc = doc

    def runtest(self) -> None:
        if self.doc.error:
            pytest.fail(self.doc.error, pytrace=False)
        problems = [
            f"{b.where}: backend={b.attrs['backend']} but the document runs only on "
            f"{','.join(self.doc.backends)}; no test touches this block"
            for b in untouched_blocks(self.doc)
        ]
        if problems:
            pytest.fail("\n".join(problems), pytrace=False)


class RuffItem(DocumentItem):
    """ruff check and ruff format --check over the document's Python blocks."""

    def runtest(self) -> None:
        in_repo = ROOT in self.doc.path.parents
        findings = ruff_findings([self.doc], ruff_config() if in_repo else None)
        if findings:
            pytest.fail("\n".join(findings), pytrace=False)
