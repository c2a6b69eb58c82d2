"""Run or check every fenced code block of every prompt (see scripts/snippets.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
import snippets
from conftest import need_server

_runs: dict[str, object] = {"current": None, "key": None, "left": 0}


def _documents(config: pytest.Config) -> list[snippets.Document]:
    paths = config.getoption("prompts")
    roots = [Path(p) for p in paths] if paths else None
    return [snippets.parse_document(p) for p in snippets.prompt_files(roots)]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    docs = _documents(metafunc.config)
    if "block_run" in metafunc.fixturenames:
        params, ids = [], []
        for doc in docs:
            if doc.error:
                continue
            for backend in doc.backends:
                blocks = snippets.ordered(doc, backend)
                for index, block in enumerate(blocks):
                    params.append((doc, backend, block, index == len(blocks) - 1))
                    ids.append(f"{block.id}@{backend}")
        metafunc.parametrize("block_run", params, ids=ids)
    if "document" in metafunc.fixturenames:
        metafunc.parametrize("document", docs, ids=[d.rel for d in docs])
    if "all_documents" in metafunc.fixturenames:
        metafunc.parametrize("all_documents", [docs], ids=["all-python-blocks"])


def _close_current() -> None:
    run = _runs["current"]
    _runs["current"] = _runs["key"] = None
    if run is not None:
        run.close()


@pytest.fixture(scope="module", autouse=True)
def _close_last_run():
    yield
    _close_current()


def test_block(block_run) -> None:
    doc, backend, block, last = block_run
    if backend == "postgres" and not snippets.postgres_admin_url():
        need_server("PostgreSQL server", "set TEST_POSTGRES_URL, or run scripts/test.sh")
    key = f"{doc.rel}@{backend}"
    try:
        if _runs["key"] != key:
            _close_current()
            run = snippets.DocumentRun(doc, backend)
            _runs["current"], _runs["key"] = run, key
            run.start()
        run = _runs["current"]
        skipped = failed = None
        try:
            run.run(block)
        except snippets.BlockSkipped as exc:
            skipped = str(exc)
        except snippets.BlockFailure as exc:
            failed = str(exc)
        if last and failed is None:
            try:
                run.finish()  # every import=no file was loaded by some later block
            except snippets.BlockFailure as exc:
                failed = str(exc)
        if failed is not None:
            pytest.fail(failed, pytrace=False)
        if skipped is not None:
            pytest.skip(skipped)
    finally:
        if last:
            _close_current()


def test_document(document) -> None:
    """The document's directive reads, and every block runs on at least one backend."""
    if document.error:
        pytest.fail(document.error, pytrace=False)
    problems = [
        f"{b.where}: backend={b.attrs['backend']} but the document runs only on "
        f"{','.join(document.backends)}; no test touches this block"
        for b in snippets.untouched(document)
    ]
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


def test_ruff(all_documents) -> None:
    """ruff check and ruff format --check over every Python block, at markdown lines."""
    findings = snippets.ruff_findings(all_documents)
    if findings:
        pytest.fail("\n".join(findings), pytrace=False)
