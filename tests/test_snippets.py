"""The snippet runner itself: extraction, each handler, and that a broken block fails
the suite at its markdown file:line."""

from __future__ import annotations

import ast
import dataclasses
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import snippets
from conftest import ROOT, server_url
from snippets.sandbox import forget_sqlmodel_tables

SAMPLES = ROOT / "tests" / "samples" / "good"


def every_document() -> list[snippets.Document]:
    """The plugin's prompts and the good samples: everything the mutation tests cover."""
    paths = snippets.prompt_files() + snippets.prompt_files([SAMPLES])
    return [snippets.parse_document(p) for p in paths]


def doc_from(text: str, name: str = "doc.md") -> snippets.Document:
    text = textwrap.dedent(text)
    return snippets.parse_text(text, ROOT / "tests" / name, f"tests/{name}")


def outcomes(text: str, backend: str = "sqlite") -> list[snippets.Outcome]:
    return snippets.run_document(doc_from(text), backend)


def failures(results: list[snippets.Outcome]) -> list[str]:
    return [o.message for o in results if o.status == "failed"]


def first_backend(doc: snippets.Document, block: snippets.Block) -> str:
    backend = snippets.planned(doc, block)[0]
    if backend == "postgres" and not snippets.postgres_admin_url():
        server_url("postgres")
    return backend


def mutate(doc: snippets.Document, block: snippets.Block, *, append=None, info=None):
    lines = doc.text.split("\n")
    if append is not None:
        lines.insert(block.end - 1, block.indent + append)
    if info is not None:
        opening = lines[block.line - 1]
        fence = opening.strip()[:3]
        lines[block.line - 1] = block.indent + fence + info
    return snippets.parse_text("\n".join(lines), doc.path, doc.rel)


# --- extraction ---------------------------------------------------------------------------


def test_line_numbers_survive_frontmatter_and_list_items() -> None:
    doc = doc_from(
        """\
        ---
        name: x
        description: y
        ---
        text

        ```python file=pkg/mod.py
        x = 1
        ```

        1. step

           ```bash
           true
           ```
        """
    )
    assert [(b.line, b.end, b.lang, b.indent) for b in doc.blocks] == [
        (7, 9, "python", ""),
        (13, 15, "bash", "   "),
    ]
    assert doc.blocks[0].attrs == {"file": "pkg/mod.py"}
    assert doc.blocks[1].code == "true\n"


@pytest.mark.parametrize(
    ("info", "message"),
    [
        ("", "has no language"),
        ("python nonsense", "needs a value"),
        ("python colour=red", "unknown attribute 'colour'"),
        ('python skip=""', "skip needs a written reason"),
        ("python backend=oracle", "unknown backend 'oracle'"),
        ("mermaid", "no handler for language 'mermaid'"),
        ("text", "no handler for language 'text'"),
        ('python skip="unbalanced', "cannot read the info string"),
    ],
)
def test_fence_problems_fail_at_their_line(info: str, message: str) -> None:
    results = outcomes(f"intro\n\n```{info}\nx = 1\n```\n")
    assert len(results) == 1 and results[0].status == "failed"
    assert results[0].message.startswith("tests/doc.md:3: "), results[0].message
    assert message in results[0].message


def test_indented_code_block_fails() -> None:
    results = outcomes("intro\n\n    x = 1\n")
    assert failures(results) == [
        "tests/doc.md:3: an indented code block; write it as a fenced block with a language"
    ]


def test_skip_is_reported_with_its_reason() -> None:
    results = outcomes('```text skip="sample output"\nok\n```\n')
    assert [(o.status, o.message) for o in results] == [
        ("skipped", "tests/doc.md:1: sample output")
    ]


# --- python -----------------------------------------------------------------------------


def test_python_blocks_share_a_namespace_and_await_at_top_level() -> None:
    results = outcomes(
        """\
        ```python
        import asyncio

        value = await asyncio.sleep(0, result=41)
        ```

        ```python
        assert value + 1 == 42
        ```
        """
    )
    assert [o.status for o in results] == ["passed", "passed"]


def test_python_failure_names_markdown_line_and_source() -> None:
    results = outcomes(
        """\
        # Title

        ```python
        x = 1
        assert x == 2, "x is not two"
        ```
        """
    )
    (message,) = failures(results)
    assert message.startswith("tests/doc.md:3: python block failed: AssertionError: x is not two")
    assert 'tests/doc.md:5: assert x == 2, "x is not two"' in message


def test_file_blocks_are_imported_as_a_package_and_errors_map_back() -> None:
    results = outcomes(
        """\
        ```python file=pkg/__init__.py
        ```

        ```python file=pkg/helpers.py
        def double(x: int) -> int:
            return 2 * x
        ```

        ```python file=pkg/broken.py
        from pkg.helpers import double

        VALUE = double(2)
        raise ValueError(f"bad value {VALUE}")
        ```

        ```python
        from pkg.helpers import double

        assert double(21) == 42
        ```
        """
    )
    assert [o.status for o in results] == ["passed", "passed", "failed", "passed"]
    message = failures(results)[0]
    assert message.startswith(
        "tests/doc.md:9 (file=pkg/broken.py): python block failed: ValueError"
    )
    assert "tests/doc.md:13: raise ValueError" in message


def test_documents_are_isolated_from_each_other() -> None:
    first = outcomes('```python file=shared_mod.py\nNAME = "first"\n```\n')
    second = outcomes(
        """\
        ```python file=shared_mod.py
        NAME = "second"
        ```

        ```python
        import shared_mod

        assert shared_mod.NAME == "second"
        assert "DATABASE_URL" in __import__("os").environ
        ```
        """
    )
    assert [o.status for o in first + second] == ["passed"] * 3
    assert "shared_mod" not in sys.modules


# --- bash, install lines ------------------------------------------------------------------


def test_bash_runs_in_the_project_and_fails_on_nonzero_exit() -> None:
    results = outcomes("```bash\necho hello > out.txt\ngrep -q bye out.txt\n```\n")
    (message,) = failures(results)
    assert message.startswith("tests/doc.md:1: bash block exited 1")


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('pip install "sqlalchemy[asyncio]>=2.0.50" "aiosqlite>=0.20"', None),
        ("uv add 'asyncpg>=0.29' 'pydantic-settings>=2.6'", None),
        ("pip install flask", "flask is not declared in pyproject.toml"),
        ('pip install "sqlalchemy[nosuchextra]>=2.0.50"', "sqlalchemy has no extra [nosuchextra]"),
        ('pip install "sqlalchemy[mypy]>=2.0.50"', "sqlalchemy[mypy] is not what pyproject.toml"),
        ('pip install "sqlalchemy>=2.0.50,<2.0"', "does not admit the tested version"),
        ("pip install asyncpg", "write asyncpg>=0.29: every install line carries the floor"),
        ('pip install "fastapi>=0.100"', "write fastapi>=0.121"),
    ],
)
def test_install_lines_are_checked_against_pyproject(line: str, message: str | None) -> None:
    results = outcomes(f"intro\n\n```bash\n{line}\n```\n")
    if message is None:
        assert [o.status for o in results] == ["passed"], failures(results)
    else:
        (failure,) = failures(results)
        assert failure.startswith("tests/doc.md:4: ") and message in failure, failure


# --- data blocks and trees ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("block", "where", "message"),
    [
        ('```json\n{"a": 1,\n "b": }\n```', "tests/doc.md:3", "json does not parse"),
        ("```yaml\na: [1, 2\n```", "tests/doc.md:3", "yaml does not parse"),
        ("```toml\na = \n```", "tests/doc.md:1", "toml does not parse"),
        ("```ini\nno section header\n```", "tests/doc.md:1", "ini does not parse"),
        ("```dotenv\nGOOD=1\nnot a line\n```", "tests/doc.md:3", "not a KEY=value line"),
    ],
)
def test_data_blocks_must_parse(block: str, where: str, message: str) -> None:
    (failure,) = failures(outcomes(block + "\n"))
    assert failure.startswith(where + ": ") and message in failure, failure


SETTINGS = """\
```python file=conf.py
from pydantic_settings import BaseSettings, SettingsConfigDict


class Conf(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DB_")

    port: int = 5432
```
"""


def test_dotenv_keys_must_be_read_by_the_settings_class() -> None:
    results = outcomes(SETTINGS + "\n```dotenv reads=conf:Conf\nDB_PORT=1\nDB_PROT=2\n```\n")
    (failure,) = failures(results)
    assert failure.startswith("tests/doc.md:13: DB_PROT is not read by Conf"), failure


def test_dotenv_values_must_validate() -> None:
    results = outcomes(SETTINGS + "\n```dotenv reads=conf:Conf\nDB_PORT=many\n```\n")
    (failure,) = failures(results)
    assert failure.startswith("tests/doc.md:11: Conf rejects these values"), failure


def test_tree_must_match_created_files() -> None:
    results = outcomes(
        """\
        ```tree
        pkg/
        ├── __init__.py
        └── missing.py
        ```

        ```python file=pkg/__init__.py
        ```

        ```python file=pkg/extra.py
        ```
        """
    )
    (failure,) = failures(results)
    assert "tests/doc.md:1: the tree shows pkg/missing.py but no code created it" in failure
    assert "tests/doc.md:1: the code creates pkg/extra.py, the tree omits it" in failure


def test_tree_lines_that_cannot_be_read_fail() -> None:
    (failure,) = failures(outcomes("```tree\npkg/\n    ?? odd\n```\n"))
    assert failure.startswith("tests/doc.md:3: cannot read this tree line"), failure


# --- backends and directives -------------------------------------------------------------


def test_directive_errors_and_untouched_blocks() -> None:
    bad = doc_from("<!-- snippets: backends=oracle -->\n")
    assert bad.error and bad.error.startswith("tests/doc.md:1: cannot read the directive")
    doc = doc_from("```python backend=postgres\nx = 1\n```\n")
    assert [b.where for b in snippets.untouched(doc)] == ["tests/doc.md:1"]


def test_backend_url_reaches_the_code(tmp_path: Path) -> None:
    doc = doc_from(
        """\
        <!-- snippets: backends=sqlite,postgres -->
        ```python
        import os

        from sqlalchemy import text
        from sqlalchemy.ext.asyncio import create_async_engine

        engine = create_async_engine(os.environ["DATABASE_URL"])
        async with engine.connect() as conn:
            assert await conn.scalar(text("select 1")) == 1
        await engine.dispose()
        import json, pathlib
        pathlib.Path(os.environ["DIALECT_LOG"]).write_text(json.dumps(engine.dialect.name))
        ```
        """
    )
    assert doc.backends == ("sqlite", "postgres")
    for backend in doc.backends:
        if backend == "postgres" and not snippets.postgres_admin_url():
            server_url("postgres")
        log = tmp_path / f"{backend}.json"
        os.environ["DIALECT_LOG"] = str(log)
        try:
            results = snippets.run_document(doc, backend)
        finally:
            del os.environ["DIALECT_LOG"]
        assert [o.status for o in results] == ["passed"], failures(results)
        assert (
            json.loads(log.read_text()) == {"sqlite": "sqlite", "postgres": "postgresql"}[backend]
        )


# --- import=no: files a later block's tool loads ----------------------------------------------


LOADER_DOC = """\
# Tool files

```python file=tool/config.py import=no
VALUE = 1
```

```bash
python -c "import runpy; print(runpy.run_path('tool/config.py')['VALUE'])" >/dev/null
python -c "import importlib.util as u; s = u.spec_from_file_location('c', 'tool/config.py'); \\
m = u.module_from_spec(s); s.loader.exec_module(m)"
```
"""


def test_import_no_file_is_written_in_order_and_must_be_loaded() -> None:
    results = outcomes(LOADER_DOC)
    assert [o.status for o in results] == ["passed", "passed"], failures(results)

    unloaded = LOADER_DOC.replace("s.loader.exec_module(m)", "pass")
    messages = failures(outcomes(unloaded))
    assert messages == [
        "tests/doc.md:3: file=tool/config.py import=no was never loaded by a later block (no "
        "process compiled this version of it); run the tool that uses it after the block, or "
        "drop import=no"
    ], messages


def test_import_no_second_version_must_be_loaded_too() -> None:
    text = LOADER_DOC + "\n```python file=tool/config.py import=no\nVALUE = 22\n```\n"
    messages = failures(outcomes(text))
    assert len(messages) == 1 and messages[0].startswith("tests/doc.md:13: file=tool/config.py")

    again = text + "\n```bash\n" + LOADER_DOC.split("```bash\n")[1]
    assert failures(outcomes(again)) == []


def test_import_no_is_not_there_before_its_turn() -> None:
    text = "```bash\ntest ! -e tool/config.py\n```\n\n" + LOADER_DOC
    results = outcomes(text)
    assert [o.status for o in results] == ["passed"] * 3, failures(results)


def test_import_no_failures_point_into_the_markdown() -> None:
    syntax = failures(outcomes("```python file=tool/x.py import=no\nx = (\n```\n"))
    assert syntax[0].startswith("tests/doc.md:1 (file=tool/x.py): python block failed: Syntax")
    assert syntax[0].endswith("(doc.md, line 2)\n  tests/doc.md:2: x = ("), syntax

    broken = LOADER_DOC.replace("VALUE = 1", "VALUE = 1\nraise RuntimeError('x')")
    messages = failures(outcomes(broken))
    assert messages and messages[0].startswith("tests/doc.md:8: bash block exited 1")
    assert "  tests/doc.md:5: raise RuntimeError('x')  (file=tool/config.py)" in messages[0]


@pytest.mark.parametrize(
    ("info", "message"),
    [
        ("python import=no", "import=no needs file=PATH"),
        ("python file=a.py import=yes", "the only value is import=no"),
    ],
)
def test_import_attribute_errors(info: str, message: str) -> None:
    results = outcomes(f"```{info}\nx = 1\n```\n")
    assert results[0].status == "failed" and message in results[0].message


def test_ruff_lints_every_version_of_a_file() -> None:
    doc = doc_from(
        """\
        ```python file=tool/config.py import=no
        import os
        ```

        ```python file=tool/config.py import=no
        import sys
        ```
        """
    )
    findings = snippets.ruff_findings([doc])
    assert "tests/doc.md:2: ruff F401: `os` imported but unused" in findings
    assert "tests/doc.md:6: ruff F401: `sys` imported but unused" in findings


# --- uses=: documents that build on other documents' files ------------------------------------


def write_docs(folder: Path, **docs: str) -> dict[str, snippets.Document]:
    for name, text in docs.items():
        (folder / f"{name}.md").write_text(textwrap.dedent(text), encoding="utf-8")
    return {name: snippets.parse_document(folder / f"{name}.md") for name in docs}


BASE_DOC = """\
    # Base

    ```python file=shop/models.py
    PRICE = 3
    ```
    """


def test_uses_builds_on_the_files_of_another_document(tmp_path: Path) -> None:
    docs = write_docs(
        tmp_path,
        base=BASE_DOC,
        more="""\
        # More
        <!-- snippets: uses=base.md -->

        ```python file=shop/services.py
        from shop.models import PRICE

        TOTAL = PRICE * 2
        ```

        ```python
        from shop.services import TOTAL

        assert TOTAL == 6
        ```
        """,
    )
    assert docs["more"].uses == (tmp_path / "base.md",)
    results = snippets.run_document(docs["more"], "sqlite")
    assert [o.status for o in results] == ["passed", "passed"], failures(results)


def test_uses_errors_point_into_the_used_document(tmp_path: Path) -> None:
    docs = write_docs(
        tmp_path,
        base=BASE_DOC.replace("PRICE = 3", "PRICE = 3 / 0"),
        more="<!-- snippets: uses=base.md -->\n\n```python\nimport shop.models\n```\n",
    )
    messages = failures(snippets.run_document(docs["more"], "sqlite"))
    assert len(messages) == 1 and "ZeroDivisionError" in messages[0], messages
    assert f"{docs['base'].rel}:4: PRICE = 3 / 0" in messages[0], messages


@pytest.mark.parametrize(
    ("directive", "message"),
    [
        ("uses=missing.md", "more.md:1: uses=missing.md: no such document next to"),
        ("uses=more.md", "more.md:1: uses=more.md: no such document next to"),
    ],
)
def test_uses_must_name_another_document(tmp_path: Path, directive: str, message: str) -> None:
    docs = write_docs(tmp_path, more=f"<!-- snippets: {directive} -->\n")
    assert docs["more"].error and message in docs["more"].error


def test_uses_refuses_a_second_copy_of_a_file_and_circles(tmp_path: Path) -> None:
    docs = write_docs(
        tmp_path,
        base=BASE_DOC,
        more="<!-- snippets: uses=base.md -->\n\n```python file=shop/models.py\nPRICE = 4\n```\n",
    )
    messages = failures(snippets.run_document(docs["more"], "sqlite"))
    assert messages and "more.md:3: file=shop/models.py is also written by" in messages[0]

    docs = write_docs(
        tmp_path, one="<!-- snippets: uses=two.md -->\n", two="<!-- snippets: uses=one.md -->\n"
    )
    messages = failures(snippets.run_document(docs["one"], "sqlite"))
    assert messages and "uses= goes round in a circle: one.md -> two.md -> one.md" in messages[0]


# --- ruff --------------------------------------------------------------------------------


def test_ruff_findings_map_to_markdown_lines() -> None:
    doc = doc_from(
        """\
        # Lint

        ```python
        import os
        ```

        ```python
        value = undefined_name
        ```

        ```python file=pkg/mod.py
        def f( x ):
            return x
        ```
        """
    )
    findings = snippets.ruff_findings([doc])
    assert "tests/doc.md:4: ruff F401: `os` imported but unused" in findings
    assert "tests/doc.md:8: ruff F821: Undefined name `undefined_name`" in findings
    assert any(f.startswith("tests/doc.md:11: ruff format would change") for f in findings)


def test_sqlmodel_tables_do_not_leak_between_runs() -> None:
    """SQLModel registers every table model process-wide; each run starts without them."""
    doc = doc_from(
        """\
        ```python
        from sqlmodel import Field, SQLModel


        class Thing(SQLModel, table=True):
            __tablename__ = "things"
            id: int | None = Field(default=None, primary_key=True)


        assert list(SQLModel.metadata.tables) == ["things"]
        ```
        """
    )
    for _ in range(2):
        results = snippets.run_document(doc, "sqlite")
        assert [o.status for o in results] == ["passed"], failures(results)


def test_format_rewrites_python_blocks_in_place(tmp_path: Path) -> None:
    doc = tmp_path / "doc.md"
    doc.write_text(
        "# Title\n\n```python\nimport sys\nimport os\n\n"
        "x = { 'a':os.sep,'b':sys.path }\n```\n\n1. step\n\n"
        "   ```python\n   y=2\n   ```\n"
        "\n```bash\nx = { 'a':1 }\n```\n",
        encoding="utf-8",
    )
    changed = snippets.format_document(doc)
    assert changed == [f"{snippets.rel_path(doc)}:3", f"{snippets.rel_path(doc)}:12"]
    assert doc.read_text(encoding="utf-8") == (
        "# Title\n\n```python\nimport os\nimport sys\n\n"
        'x = {"a": os.sep, "b": sys.path}\n```\n\n1. step\n\n'
        "   ```python\n   y = 2\n   ```\n"
        "\n```bash\nx = { 'a':1 }\n```\n"
    )
    assert snippets.ruff_findings([snippets.parse_document(doc)]) == []
    assert snippets.format_document(doc) == []


# --- the promises of issue 2 ---------------------------------------------------------------


def file_blocks() -> list[tuple[snippets.Document, snippets.Block]]:
    return [
        (d, b)
        for d in every_document()
        for b in d.blocks
        if b.kind == "python" and not b.error and "file" in b.attrs
    ]


def plain_python_blocks(doc: snippets.Document) -> list[snippets.Block]:
    return [
        b
        for b in doc.blocks
        if b.kind == "python" and not b.error and "file" not in b.attrs and "skip" not in b.attrs
    ]


def importable_file_blocks(doc: snippets.Document, backend: str) -> list[snippets.Block]:
    return [
        b
        for b in doc.blocks
        if b.kind == "python"
        and "file" in b.attrs
        and not (b.error or b.inline or b.skipped)
        and backend in snippets.planned(doc, b)
    ]


@pytest.mark.parametrize(
    "doc",
    [d for d in every_document() if any(b.kind == "python" for b in d.blocks)],
    ids=lambda d: d.rel,
)
def test_appending_a_raise_to_any_file_block_fails_at_its_line(doc) -> None:
    """One run per document and backend: each file= module in turn is written with a raise
    appended and imported afresh (with every module of the project forgotten first), and the
    import fails at the raise's own markdown line: the closing fence's line number."""
    for backend in doc.backends:
        blocks = importable_file_blocks(doc, backend)
        if not blocks:
            continue
        if backend == "postgres" and not snippets.postgres_admin_url():
            server_url("postgres")
        run = snippets.DocumentRun(doc, backend)
        try:
            run.start()
            for block in blocks:
                path = (run.project / block.attrs["file"]).resolve()
                kept, owner = path.read_text(encoding="utf-8"), run.file_map[str(path)]
                path.write_text(block.code + 'raise RuntimeError("x")\n', encoding="utf-8")
                run.file_map[str(path)] = block
                for name, module in list(sys.modules.items()):
                    if run.sandbox.owns(module):
                        del sys.modules[name]
                forget_sqlmodel_tables()
                with pytest.raises(snippets.BlockFailure) as failure:
                    run.run(block)
                message = str(failure.value)
                # the frame at the raise's line (the markdown itself is not changed here)
                assert f"\n  {block.rel}:{block.end}: " in message, message
                assert "RuntimeError: x" in message, message
                path.write_text(kept, encoding="utf-8")
                run.file_map[str(path)] = owner
        finally:
            run.close()


def with_raise_after_imports(code: str) -> tuple[str, int]:
    """`code` with a raise inserted after its last top-level import (before any of its own
    work, so a tool that loads it fails without side effects), and the raise's line."""
    tree = ast.parse(code)
    imports = [n for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)]
    after = imports[-1].end_lineno if imports else 0
    lines = code.split("\n")
    lines.insert(after, 'raise RuntimeError("x")')
    return "\n".join(lines), after + 1


def broken_in_one_run(doc: snippets.Document) -> bool:
    return bool(plain_python_blocks(doc)) or any(
        b.inline and b.kind == "python" and not b.skipped for b in doc.blocks
    )


def run_until_passed(run, block, broken: dict) -> tuple[list[str], str | None]:
    """Run `block`; while it fails at the raise of a broken import=no file, put that file
    right and run the block again. Returns the blocks whose raise was seen, and the message
    of a failure that was not one of those raises (None when the block passed)."""
    proved = []
    while True:
        try:
            run.run(block)
            return proved, None
        except snippets.BlockSkipped:
            return proved, None
        except snippets.BlockFailure as failure:
            message = str(failure)
        hit = [p for p, (b, line) in broken.items() if f"{b.rel}:{line}: " in message]
        if not hit:
            return proved, message
        for path in hit:
            original, _ = broken.pop(path)
            Path(path).write_text(original.code, encoding="utf-8")
            run.file_map[path] = original
            proved.append(original.where)


def break_plain_block(run, block, broken: dict) -> list[str]:
    """A plain block with a raise appended (after its own work, so the next block sees what
    it would without it) fails at its own line: the closing fence's."""
    mutated = dataclasses.replace(block, code=block.code + 'raise RuntimeError("x")\n')
    proved, message = run_until_passed(run, mutated, broken)
    assert message is not None, f"{block.where} passed with a raise appended"
    assert message.startswith(block.where) and "RuntimeError: x" in message, message
    assert f"\n  {block.rel}:{block.end}: " in message, message
    return [*proved, block.where]


@pytest.mark.parametrize(
    "doc", [d for d in every_document() if broken_in_one_run(d)], ids=lambda d: d.rel
)
def test_every_broken_block_fails_at_its_own_line_in_one_run(doc) -> None:
    """One run per document and backend (the first; another only for blocks that run there
    alone): every plain Python block gets a raise appended, every import=no Python file a
    raise after its imports (before its own work, so the tool that loads it fails without
    side effects). Each must fail at its raise's markdown line; a broken file is then put
    right and the block that loaded it runs again, so the document goes on as written."""
    plain = {b.line for b in plain_python_blocks(doc)}
    first = doc.backends[0]
    for backend in doc.backends:
        broken_here = [
            b for b in doc.blocks if b.line in plain or (b.inline and b.kind == "python")
        ]
        if backend != first and all(first in snippets.planned(doc, b) for b in broken_here):
            continue
        if backend == "postgres":
            server_url("postgres")
        run = snippets.DocumentRun(doc, backend)
        broken: dict[str, tuple[snippets.Block, int]] = {}  # path -> (block, markdown line)
        proved = []
        try:
            run.start()
            for block in snippets.ordered(doc, backend):
                if block.inline and block.kind == "python" and not block.skipped:
                    code, line = with_raise_after_imports(block.code)
                    path = run.write(dataclasses.replace(block, code=code))
                    broken[str(path)] = (block, block.line + line)
                elif block.line in plain:
                    proved += break_plain_block(run, block, broken)
                else:
                    seen, failure = run_until_passed(run, block, broken)
                    assert failure is None, failure
                    proved += seen
        finally:
            run.close()
        assert not broken, f"never loaded: {[b.where for b, _ in broken.values()]}"
        assert proved, f"nothing was proved on {backend}"


@pytest.mark.parametrize(
    ("doc", "block"),
    [(d, b) for d in every_document() for b in d.blocks if b.lang],
    ids=lambda v: getattr(v, "id", ""),
)
def test_deleting_a_fence_language_fails_at_its_line(doc, block) -> None:
    """The broken block is among the blocks the suite runs, and running it fails at its line
    before anything is executed (so no earlier block needs to run for this)."""
    broken = mutate(doc, block, info="")
    target = next(b for b in broken.blocks if b.line == block.line)
    assert all(target in snippets.ordered(broken, backend) for backend in broken.backends)
    run = snippets.DocumentRun(broken, "sqlite")  # not started: nothing may run first
    with pytest.raises(snippets.BlockFailure) as failure:
        run.run(target)
    assert str(failure.value) == (
        f"{block.where}: the fence has no language; give it one (```python, ```bash, ...)"
    )


def pytest_on(*args: str) -> subprocess.CompletedProcess:
    """pytest in a subprocess, with the plugin as a user outside this repository loads it."""
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args]
    command += ["-p", "snippets.pytest_plugin"]
    env = {**os.environ, "CI": "", "PYTHONPATH": str(ROOT / "scripts")}
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)


def test_pytest_run_names_the_block_that_failed(tmp_path: Path) -> None:
    source = SAMPLES / "sample-skill.md"
    doc = snippets.parse_document(source)
    block = next(b for b in doc.blocks if b.kind == "python" and "file" not in b.attrs)
    broken = tmp_path / "sample-skill.md"
    lines = doc.text.split("\n")
    lines.insert(block.end - 1, 'raise RuntimeError("x")')
    broken.write_text("\n".join(lines), encoding="utf-8")
    proc = pytest_on(str(broken), "-k", "sqlite")
    assert proc.returncode == 1, proc.stdout[-2000:]
    assert f"sample-skill.md:{block.line}: python block failed: RuntimeError: x" in proc.stdout
    failed = [line for line in proc.stdout.splitlines() if line.startswith("FAILED ")]
    assert [line.endswith(f"sample-skill.md::sqlite::{block.line}[python]") for line in failed] == [
        True
    ], proc.stdout[-2000:]
    assert "During handling" not in proc.stdout, proc.stdout[-2000:]


def test_a_document_is_set_up_once_per_backend() -> None:
    """Counted, not timed: the runner starts one document run per document and backend, and
    every block of the db/ package reference runs inside it."""
    layer = "skills/async-db-layer/references/db-package.md"
    doc = snippets.parse_document(ROOT / layer)
    if not snippets.postgres_admin_url():
        server_url("postgres")
    proc = pytest_on(layer)
    assert proc.returncode == 0, proc.stdout[-2000:]
    blocks = sum(len(snippets.ordered(doc, b)) for b in doc.backends)
    summary = f"snippets: {blocks} blocks in {len(doc.backends)} document runs"
    assert summary in proc.stdout, proc.stdout[-2000:]


def test_one_block_selected_alone_sees_what_the_blocks_before_it_made() -> None:
    """-k on one block: the blocks before it run first, inside the same document run."""
    layer = "skills/async-db-layer/references/db-package.md"
    doc = snippets.parse_document(ROOT / layer)
    last = [b for b in snippets.ordered(doc, "sqlite") if b.kind == "python"][-1]
    proc = pytest_on(f"{layer}::sqlite::{last.line}[python]")
    assert proc.returncode == 0, proc.stdout[-2000:]
    assert "1 passed" in proc.stdout, proc.stdout[-2000:]


@pytest.mark.parametrize("path", snippets.prompt_files([SAMPLES]), ids=lambda p: p.name)
def test_good_samples_pass_on_every_backend(path: Path) -> None:
    doc = snippets.parse_document(path)
    assert doc.error is None
    for backend in doc.backends:
        if backend == "postgres" and not snippets.postgres_admin_url():
            server_url("postgres")
        results = snippets.run_document(doc, backend)
        assert results and not failures(results), failures(results)
        assert all(o.status == "passed" or "skip" in o.block.attrs for o in results)
