#!/usr/bin/env python3
"""Pull every fenced code block out of the plugin's prompts and run or check it.

The prompts (commands/, skills/, agents/, references/) are the product; this module is
what keeps the promise that every code block in them has been run. pytest drives it
(tests/test_prompts.py); maintainers can list the inventory by hand:

    python scripts/snippets.py list [PATH ...]
    python scripts/snippets.py format FILE.md ...   # ruff format on its Python blocks, in place

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
    ```LANG when=mysql                 which backend or option scaffold_db.py writes it for
    ```python file=migrations/env.py import=no
                                      written when its turn comes (not before the document
                                      starts) and not imported: a tool run by a later block
                                      loads it (Alembic's env.py, revision scripts, a second
                                      version of a module). Python is compiled at once; by the
                                      end of the document some process must have loaded this
                                      very version, seen by the bytecode cache it left

A document runs on SQLite unless it asks for more with a comment anywhere in it:

    <!-- snippets: backends=sqlite,postgres -->

It may build on the files of other documents instead of copying them (paths relative to it;
their own `uses=` count too):

    <!-- snippets: backends=sqlite,postgres uses=models.md,servicebase.md -->

The runner exports DATABASE_URL (an async SQLAlchemy URL for a fresh, empty database)
and SNIPPET_BACKEND to the code it runs.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import importlib
import importlib.util
import inspect
import json
import linecache
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import tomllib
import traceback
import types
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROMPT_DIRS = ("commands", "skills", "agents", "references")

LANGUAGES = {
    "python": "python",
    "py": "python",
    "bash": "bash",
    "sh": "bash",
    "shell": "bash",
    "dotenv": "dotenv",
    "env": "dotenv",
    "ini": "ini",
    "cfg": "ini",
    "toml": "toml",
    "json": "json",
    "yaml": "yaml",
    "yml": "yaml",
    "tree": "tree",
}
KNOWN_ATTRS = {"file", "skip", "backend", "reads", "when", "import"}  # when=: scaffold_db.py
BACKENDS = ("sqlite", "postgres")
DIRECTIVE = re.compile(r"<!--\s*snippets:\s*(.*?)\s*-->", re.S)
RUFF_SELECT = "E,F,W,I,UP,B,ASYNC"


class BlockFailure(Exception):
    """A block that did not pass; the message starts with `file:line:`."""


class BlockSkipped(Exception):
    """A block that carries skip="reason"."""


@dataclass
class Block:
    doc: Path
    rel: str
    line: int  # 1-based line of the opening fence
    info: str
    code: str
    end: int = 0  # 1-based line of the closing fence (0 when the document ends first)
    indent: str = ""  # what stands before the opening fence (inside list items)
    lang: str = ""
    attrs: dict[str, str] = field(default_factory=dict)
    error: str | None = None  # a problem with the fence itself

    @property
    def where(self) -> str:
        return f"{self.rel}:{self.line}"

    @property
    def kind(self) -> str | None:
        return LANGUAGES.get(self.lang)

    @property
    def backends(self) -> tuple[str, ...] | None:
        value = self.attrs.get("backend")
        return tuple(b.strip() for b in value.split(",")) if value else None

    @property
    def inline(self) -> bool:
        """A file= block written at its turn, for a later block's tool to load (import=no)."""
        return self.attrs.get("import") == "no"

    @property
    def id(self) -> str:
        return f"{self.where}[{self.lang or 'no-language'}]"


@dataclass
class Document:
    path: Path
    rel: str
    text: str
    blocks: list[Block]
    backends: tuple[str, ...]
    error: str | None = None
    uses: tuple[Path, ...] = ()  # documents whose file= blocks this one builds on


def rel_path(path: Path) -> str:
    path = path.resolve()
    try:
        return path.relative_to(ROOT).as_posix()
    except ValueError:
        return path.as_posix()


def strip_frontmatter(text: str) -> str:
    """Blank out a leading YAML frontmatter, keeping every line number."""
    lines = text.split("\n")
    if not lines or lines[0].strip() != "---":
        return text
    for i in range(1, len(lines)):
        if lines[i].strip() == "---":
            return "\n" * (i + 1) + "\n".join(lines[i + 1 :])
    return text


def parse_info(info: str) -> tuple[str, dict[str, str], str | None]:
    info = info.strip()
    if not info:
        return "", {}, "the fence has no language; give it one (```python, ```bash, ...)"
    try:
        words = shlex.split(info)
    except ValueError as exc:
        return info.split()[0], {}, f"cannot read the info string {info!r}: {exc}"
    lang, attrs = words[0].lower(), {}
    for word in words[1:]:
        key, eq, value = word.partition("=")
        if not eq:
            return lang, attrs, f"attribute {word!r} needs a value (key=value)"
        if key not in KNOWN_ATTRS:
            known = ", ".join(sorted(KNOWN_ATTRS))
            return lang, attrs, f"unknown attribute {key!r}; known: {known}"
        attrs[key] = value
    if "skip" in attrs and not attrs["skip"].strip():
        return lang, attrs, 'skip needs a written reason: skip="why this block is not run"'
    if "import" in attrs:
        if attrs["import"] != "no":
            return lang, attrs, f"import={attrs['import']}: the only value is import=no"
        if "file" not in attrs:
            return lang, attrs, "import=no needs file=PATH: it says how a written file is loaded"
    for name in (attrs.get("backend") or "").split(",") if "backend" in attrs else []:
        if name.strip() not in BACKENDS:
            return lang, attrs, f"unknown backend {name!r}; known: {', '.join(BACKENDS)}"
    return lang, attrs, None


def parse_document(path: Path) -> Document:
    path = Path(path).resolve()
    rel = rel_path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return Document(path, rel, "", [], ("sqlite",), error=f"{rel}:1: cannot read: {exc}")
    return parse_text(text, path, rel)


def parse_text(text: str, path: Path, rel: str) -> Document:
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark")
    blocks = []
    for token in md.parse(strip_frontmatter(text)):
        if token.type not in ("fence", "code_block") or token.map is None:
            continue
        line = token.map[0] + 1
        if token.type == "code_block":
            block = Block(path, rel, line, "", token.content)
            block.error = "an indented code block; write it as a fenced block with a language"
        else:
            lines = text.split("\n")
            opening = lines[token.map[0]]
            closing = lines[token.map[1] - 1].strip() if token.map[1] - 1 > token.map[0] else ""
            fence = opening.strip()[:3]
            end = token.map[1] if closing.startswith(fence) else 0
            indent = opening[: len(opening) - len(opening.lstrip())]
            block = Block(path, rel, line, token.info, token.content, end, indent)
            block.lang, block.attrs, block.error = parse_info(token.info)
            if block.error is None and block.kind is None and "skip" not in block.attrs:
                langs = ", ".join(sorted(set(LANGUAGES)))
                block.error = (
                    f"no handler for language {block.lang!r}; use one of {langs}, "
                    'or add skip="reason"'
                )
        blocks.append(block)
    backends, error, uses = ("sqlite",), None, []
    for match in DIRECTIVE.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        for part in match.group(1).split():
            key, _, value = part.partition("=")
            names = tuple(v.strip() for v in value.split(",") if v.strip())
            if key == "uses" and names:
                for name in names:
                    used = (path.parent / name).resolve()
                    if not used.is_file() or used == path.resolve():
                        error = f"{rel}:{line}: uses={name}: no such document next to {rel}"
                    uses.append(used)
            elif key != "backends" or not names or set(names) - set(BACKENDS):
                error = (
                    f"{rel}:{line}: cannot read the directive {match.group(0)!r}; "
                    f"write <!-- snippets: backends=sqlite,postgres uses=other.md --> "
                    f"(backends: {', '.join(BACKENDS)}; uses= is optional)"
                )
            else:
                backends = names
    return Document(path, rel, text, blocks, backends, error, tuple(uses))


def used_documents(doc: Document) -> list[Document]:
    """The documents `doc` builds on, depth first (theirs before them), each once."""
    seen: dict[Path, Document] = {}

    def visit(current: Document, trail: tuple[Path, ...]) -> None:
        for path in current.uses:
            if path in trail:
                chain = " -> ".join(p.name for p in (*trail, path))
                raise BlockFailure(f"{doc.rel}:1: uses= goes round in a circle: {chain}")
            if path in seen:
                continue
            used = parse_document(path)
            if used.error:
                raise BlockFailure(used.error)
            visit(used, (*trail, path))
            seen[path] = used

    visit(doc, (doc.path.resolve(),))
    return list(seen.values())


def prompt_files(roots: list[Path] | None = None) -> list[Path]:
    if roots is None:
        roots = [ROOT / d for d in PROMPT_DIRS]
    files: list[Path] = []
    for root in roots:
        root = Path(root)
        if root.is_file():
            files.append(root.resolve())
        elif root.is_dir():
            files.extend(p.resolve() for p in sorted(root.rglob("*.md")))
    return files


def planned(doc: Document, block: Block) -> tuple[str, ...]:
    """The backends this block runs on within its document."""
    if block.backends is None:
        return doc.backends
    return tuple(b for b in block.backends if b in doc.backends)


def module_name(rel_file: str) -> str | None:
    parts = Path(rel_file).with_suffix("").parts
    if not parts or not all(p.isidentifier() for p in parts):
        return None
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts) or None


# --- backends ---------------------------------------------------------------------------


def project_files(doc: Document, backend: str) -> list[Block]:
    """The file= blocks written before the document runs: those of the documents it uses
    first, then its own (import=no files come later, in their turn)."""
    return [
        block
        for current in [*used_documents(doc), doc]
        for block in current.blocks
        if block.attrs.get("file")
        and not block.error
        and not block.inline
        and backend in planned(current, block)
    ]


def materialize(doc: Document, backend: str, dest: Path) -> list[Path]:
    """Write the project a document builds (its files, as a reader would copy them) into
    `dest`, outside any test run: the benchmark serves the taught apps from there."""
    run = DocumentRun(doc, backend)
    run.project = dest
    return [run._write(block) for block in project_files(doc, backend)]


def postgres_admin_url() -> str | None:
    return os.environ.get("TEST_POSTGRES_URL") or None


class Database:
    """A fresh, empty database for one document run."""

    def __init__(self, backend: str, project: Path, name: str) -> None:
        self.backend, self.project, self.name = backend, project, name
        self.url = ""

    def create(self) -> None:
        if self.backend == "sqlite":
            self.url = f"sqlite+aiosqlite:///{self.project / 'snippets.db'}"
            return
        admin = postgres_admin_url()
        if admin is None:
            raise BlockFailure("no PostgreSQL server: set TEST_POSTGRES_URL (scripts/test.sh does)")
        from sqlalchemy.engine import make_url

        url = make_url(admin)
        self._admin(admin, f'DROP DATABASE IF EXISTS "{self.name}"')
        self._admin(admin, f'CREATE DATABASE "{self.name}"')
        self.url = url.set(database=self.name).render_as_string(hide_password=False)

    def drop(self) -> None:
        if self.backend == "postgres" and self.url:
            admin = postgres_admin_url()
            self._admin(admin, f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')

    @staticmethod
    def _admin(admin_url: str, statement: str) -> None:
        import asyncpg
        from sqlalchemy.engine import make_url

        url = make_url(admin_url)

        async def run() -> None:
            conn = await asyncpg.connect(
                user=url.username,
                password=url.password,
                host=url.host,
                port=url.port,
                database=url.database or "postgres",
            )
            try:
                await conn.execute(statement)
            finally:
                await conn.close()

        loop = asyncio.new_event_loop()
        try:
            loop.run_until_complete(run())
        finally:
            loop.close()


# --- running a document ----------------------------------------------------------------


class DocumentRun:
    """One document on one backend: a temporary project, a namespace and an event loop."""

    def __init__(self, doc: Document, backend: str) -> None:
        self.doc, self.backend = doc, backend
        # a real module, so that libraries which look classes up by __module__ find them
        self.module = types.ModuleType(f"snippet_{id(self):x}")
        self.namespace: dict[str, object] = self.module.__dict__
        self.failed: list[str] = []
        self.file_map: dict[str, Block] = {}
        self.project: Path | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self._saved_env: dict[str, str] | None = None
        self._saved_cwd: str | None = None
        self._saved_path: list[str] | None = None
        self._modules_before: set[str] = set()
        self.db: Database | None = None
        self.awaiting_load: dict[str, Block] = {}  # import=no Python files nobody loaded yet

    # lifecycle
    def start(self) -> None:
        tmp = tempfile.mkdtemp(prefix="snippet-")
        self.project = Path(tmp)
        for used in used_documents(self.doc):
            linecache.cache[used.rel] = (len(used.text), None, used.text.splitlines(True), used.rel)
        for block in project_files(self.doc, self.backend):
            self._write(block)
        self._saved_env = dict(os.environ)
        self._saved_cwd = os.getcwd()
        self._saved_path = list(sys.path)
        self._modules_before = set(sys.modules)
        digest = abs(hash((self.doc.rel, os.getpid()))) % 10**10
        self.db = Database(self.backend, self.project, f"snippet_{digest}")
        self.db.create()
        os.environ["DATABASE_URL"] = self.db.url
        os.environ["SNIPPET_BACKEND"] = self.backend
        os.environ["CLAUDE_PLUGIN_ROOT"] = str(ROOT)  # as Claude Code sets it for the plugin
        os.chdir(self.project)
        sys.path.insert(0, str(self.project))
        importlib.invalidate_caches()
        sys.modules[self.module.__name__] = self.module
        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)
        lines = self.doc.text.splitlines(keepends=True)
        linecache.cache[self.doc.rel] = (len(self.doc.text), None, lines, self.doc.rel)

    def _write(self, block: Block) -> Path:
        target = block.attrs["file"]
        dest = (self.project / target).resolve()
        if self.project not in dest.parents:
            raise BlockFailure(f"{block.where}: file={target} leaves the project folder")
        earlier = self.file_map.get(str(dest))
        if earlier is not None and earlier.rel != block.rel:
            raise BlockFailure(
                f"{block.where}: file={target} is also written by {earlier.where}, a document "
                "this one uses; change that document, or give this file another path"
            )
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(block.code, encoding="utf-8")
        self.file_map[str(dest)] = block
        return dest

    def _note_loads(self) -> None:
        """Strike off import=no files whose current version a process has compiled."""
        for path, block in list(self.awaiting_load.items()):
            if loaded_version(Path(path), block.code):
                del self.awaiting_load[path]

    def finish(self) -> None:
        """After the document's last block: every import=no Python file was loaded."""
        self._note_loads()
        problems = [
            f"{block.where}: file={block.attrs['file']} import=no was never loaded by a later "
            "block (no process compiled this version of it); run the tool that uses it after "
            "the block, or drop import=no"
            for block in self.awaiting_load.values()
        ]
        if problems:
            raise BlockFailure("\n".join(problems))

    def close(self) -> None:
        try:
            if self.loop is not None:
                with contextlib.suppress(Exception):
                    self._dispose_engines()
                    self.loop.run_until_complete(self.loop.shutdown_asyncgens())
                self.loop.close()
                asyncio.set_event_loop(None)
        finally:
            self._forget_sqlmodel_tables()
            sys.modules.pop(self.module.__name__, None)
            for name in set(sys.modules) - self._modules_before:
                if self._from_project(sys.modules.get(name)):
                    del sys.modules[name]
            if self._saved_path is not None:
                sys.path[:] = self._saved_path
            if self._saved_cwd is not None:
                os.chdir(self._saved_cwd)
            if self._saved_env is not None:
                os.environ.clear()
                os.environ.update(self._saved_env)
            if self.db is not None:
                with contextlib.suppress(Exception):
                    self.db.drop()
            if self.project is not None:
                shutil.rmtree(self.project, ignore_errors=True)

    @staticmethod
    def _forget_sqlmodel_tables() -> None:
        """SQLModel keeps every table model in one process-wide registry and MetaData; the
        next document (or backend) defines its own `User` and `users` again."""
        main = sys.modules.get("sqlmodel.main")
        if main is not None:
            main.default_registry.dispose()
            main.SQLModel.metadata.clear()

    def _from_project(self, module: object) -> bool:
        """Whether a module was loaded from this run's project (packages without
        __init__.py have no __file__, only __path__)."""
        if self.project is None or module is None:
            return False
        search = getattr(module, "__path__", [])
        try:
            paths = list(search)
        except Exception:  # a namespace package whose parent is already gone recomputes and fails
            paths = list(getattr(search, "_path", []))
        places = [getattr(module, "__file__", None) or "", *paths]
        return any(str(p).startswith(str(self.project)) for p in places)

    def _dispose_engines(self) -> None:
        """Close engines a document left open, so its database can be dropped."""
        try:
            from sqlalchemy.ext.asyncio import AsyncEngine
        except ImportError:
            return
        seen = []
        for value in list(self.namespace.values()):
            if isinstance(value, AsyncEngine):
                seen.append(value)
        for mod in list(sys.modules.values()):
            if self._from_project(mod):
                for value in list(vars(mod).values()):
                    if isinstance(value, AsyncEngine) and value not in seen:
                        seen.append(value)
        for engine in seen:
            self.loop.run_until_complete(engine.dispose())

    # blocks
    def run(self, block: Block) -> None:
        if block.error:
            raise BlockFailure(f"{block.where}: {block.error}")
        if "skip" in block.attrs:
            raise BlockSkipped(f"{block.where}: {block.attrs['skip']}")
        try:
            if block.inline:
                dest = self._write(block)
                if block.kind == "python":
                    self.awaiting_load[str(dest)] = block
            getattr(self, f"_run_{block.kind}")(block)
            self._note_loads()
        except (BlockFailure, BlockSkipped):
            self.failed.append(block.where)
            raise
        except BaseException as exc:  # the snippet's own error, shown at its markdown line
            self.failed.append(block.where)
            if isinstance(exc, KeyboardInterrupt):
                raise
            raise BlockFailure(self._explain(block, exc)) from None

    def _explain(self, block: Block, exc: BaseException) -> str:
        frames = []
        for frame in traceback.extract_tb(exc.__traceback__):
            filename, lineno = frame.filename, frame.lineno
            origin = self.file_map.get(str(Path(filename).resolve())) if filename else None
            if origin is not None:
                lineno = origin.line + (lineno or 0)
                filename = origin.rel
            elif filename != self.doc.rel:
                continue
            text = linecache.getline(filename, lineno or 0).strip()
            if filename == self.doc.rel or origin is not None:
                frames.append(f"  {filename}:{lineno}: {text}")
        if isinstance(exc, SyntaxError) and exc.filename:
            origin = self.file_map.get(str(Path(exc.filename).resolve()))
            lineno = exc.lineno or 0
            if origin is not None:
                lineno += origin.line
            rel = origin.rel if origin is not None else self.doc.rel
            frames.append(f"  {rel}:{lineno}: {(exc.text or '').strip()}")
        where = block.where + (f" (file={block.attrs['file']})" if "file" in block.attrs else "")
        message = f"{where}: {block.lang} block failed: {type(exc).__name__}: {exc}"
        earlier = [w for w in self.failed if w != block.where]
        if earlier:
            message += f"\n  (an earlier block failed first: {earlier[0]})"
        return "\n".join([message, *frames])

    def _run_python(self, block: Block) -> None:
        if block.inline:  # a later block's tool loads it; here only its syntax is checked
            tree = self._parse(block)
            compile(tree, self.doc.rel, "exec", dont_inherit=True)
            return
        if "file" in block.attrs:
            name = module_name(block.attrs["file"])
            if name is None:
                raise BlockFailure(
                    f"{block.where}: file={block.attrs['file']} is not an importable module path"
                )
            importlib.import_module(name)
            return
        tree = self._parse(block)
        code = compile(
            tree, self.doc.rel, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT, dont_inherit=True
        )
        result = eval(code, self.namespace)  # noqa: S307 - running the snippet is the point
        if inspect.iscoroutine(result):
            self.loop.run_until_complete(result)

    def _parse(self, block: Block) -> ast.Module:
        try:
            tree = ast.parse(block.code, filename=self.doc.rel)
        except SyntaxError as exc:  # at the markdown line, not the block's own
            exc.lineno = (exc.lineno or 1) + block.line
            if exc.end_lineno:
                exc.end_lineno += block.line
            raise
        ast.increment_lineno(tree, block.line)
        return tree

    def _run_bash(self, block: Block) -> None:
        if is_install_block(block.code):
            problems = check_install_lines(block)
            if problems:
                raise BlockFailure("\n".join(problems))
            return
        env = dict(os.environ)
        env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
        env.pop("PYTHONDONTWRITEBYTECODE", None)  # import=no files are seen loaded by their .pyc
        proc = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", block.code],
            cwd=self.project,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if proc.returncode != 0:
            out = (proc.stdout + proc.stderr).strip()[-3000:]
            frames = self._document_frames(proc.stdout + proc.stderr)
            raise BlockFailure(
                "\n".join([f"{block.where}: bash block exited {proc.returncode}", *frames, out])
            )

    def _document_frames(self, output: str) -> list[str]:
        """Traceback lines of a process that point into files written from this document,
        as the markdown lines they came from (an import=no file fails in the tool that
        loads it)."""
        frames = []
        for match in re.finditer(r'File "([^"]+)", line (\d+)', output):
            origin = self.file_map.get(str(Path(match.group(1)).resolve()))
            if origin is not None:
                line = origin.line + int(match.group(2))
                text = linecache.getline(origin.rel, line).strip()
                frames.append(f"  {origin.rel}:{line}: {text}  (file={origin.attrs['file']})")
        return frames

    def _data_file(self, block: Block, suffix: str) -> Path:
        """This block's own content in a file of its own (blocks may share a file= path)."""
        path = self.project / f".snippet-{block.line}{suffix}"
        path.write_text(block.code, encoding="utf-8")
        return path

    def _reader(self, block: Block, path: Path) -> None:
        target = block.attrs.get("reads")
        if not target:
            return
        modname, _, attr = target.partition(":")
        if not attr:
            raise BlockFailure(f"{block.where}: reads={target} must be module:object")
        obj = getattr(importlib.import_module(modname), attr)
        if block.kind == "dotenv" and isinstance(obj, type) and hasattr(obj, "model_fields"):
            check_env_against_settings(block, obj, path)
        elif callable(obj):
            obj(path)
        else:
            raise BlockFailure(f"{block.where}: reads={target} is not callable")

    def _run_dotenv(self, block: Block) -> None:
        parse_dotenv(block)
        self._reader(block, self._data_file(block, ".env"))

    def _run_ini(self, block: Block) -> None:
        import configparser

        parser = configparser.ConfigParser()
        try:
            parser.read_string(block.code)
        except configparser.Error as exc:
            raise BlockFailure(f"{block.where}: ini does not parse: {exc}") from None
        self._reader(block, self._data_file(block, ".ini"))

    def _run_toml(self, block: Block) -> None:
        try:
            tomllib.loads(block.code)
        except tomllib.TOMLDecodeError as exc:
            raise BlockFailure(f"{block.where}: toml does not parse: {exc}") from None
        self._reader(block, self._data_file(block, ".toml"))

    def _run_json(self, block: Block) -> None:
        try:
            json.loads(block.code)
        except json.JSONDecodeError as exc:
            line = block.line + exc.lineno
            raise BlockFailure(f"{block.rel}:{line}: json does not parse: {exc.msg}") from None
        self._reader(block, self._data_file(block, ".json"))

    def _run_yaml(self, block: Block) -> None:
        import yaml

        try:
            yaml.safe_load(block.code)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = block.line + (mark.line + 1 if mark else 1)
            problem = getattr(exc, "problem", None) or str(exc)
            raise BlockFailure(f"{block.rel}:{line}: yaml does not parse: {problem}") from None
        self._reader(block, self._data_file(block, ".yaml"))

    def _run_tree(self, block: Block) -> None:
        entries = parse_tree(block)
        problems = compare_tree(block, entries, self.project)
        if problems:
            raise BlockFailure("\n".join(problems))


# --- checks used by the handlers ----------------------------------------------------------


def loaded_version(path: Path, code: str) -> bool:
    """Whether some Python process compiled the file at `path` while it held `code`: its
    bytecode cache records the source's mtime and size (PEP 552, timestamp-based)."""
    try:
        if path.read_text(encoding="utf-8") != code:
            return False
        stat = path.stat()
        header = Path(importlib.util.cache_from_source(str(path))).read_bytes()[:16]
    except (OSError, ValueError):
        return False
    if len(header) < 16 or int.from_bytes(header[4:8], "little") != 0:
        return False
    mtime = int.from_bytes(header[8:12], "little")
    size = int.from_bytes(header[12:16], "little")
    return mtime == int(stat.st_mtime) & 0xFFFFFFFF and size == stat.st_size & 0xFFFFFFFF


ENV_LINE = re.compile(r"^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$")


def parse_dotenv(block: Block) -> dict[str, str]:
    values: dict[str, str] = {}
    for offset, raw in enumerate(block.code.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = ENV_LINE.match(line)
        if not match:
            raise BlockFailure(
                f"{block.rel}:{block.line + offset}: not a KEY=value line: {raw.strip()!r}"
            )
        key, value = match.groups()
        value = re.sub(r"\s+#.*$", "", value).strip() if not value.startswith(("'", '"')) else value
        values[key] = value.strip("'\"")
    return values


def check_env_against_settings(block: Block, settings_cls: type, path: Path) -> None:
    config = getattr(settings_cls, "model_config", {})
    prefix = (config.get("env_prefix") or "").lower()
    known = set()
    for name, info in settings_cls.model_fields.items():
        known.add((prefix + name).lower())
        for alias in (info.alias, info.validation_alias):
            if isinstance(alias, str):
                known.add(alias.lower())
            elif alias is not None and hasattr(alias, "choices"):
                known.update(str(c).lower() for c in alias.choices if isinstance(c, str))
    for offset, raw in enumerate(block.code.splitlines(), start=1):
        match = ENV_LINE.match(raw.strip())
        if match and match.group(1).lower() not in known:
            raise BlockFailure(
                f"{block.rel}:{block.line + offset}: {match.group(1)} is not read by "
                f"{settings_cls.__name__} (it reads: {', '.join(sorted(known))})"
            )
    # Judge the file alone: variables the class would read from the environment are hidden.
    hidden = {k: os.environ.pop(k) for k in list(os.environ) if k.lower() in known}
    try:
        settings_cls(_env_file=str(path))
    except Exception as exc:
        raise BlockFailure(
            f"{block.where}: {settings_cls.__name__} rejects these values: {exc}"
        ) from None
    finally:
        os.environ.update(hidden)


INSTALL = re.compile(
    r"^(?:python3? -m )?(?:pip3? install|uv pip install|uv add|poetry add)\s+(.*)$"
)


def is_install_block(code: str) -> bool:
    lines = [
        ln.strip() for ln in code.splitlines() if ln.strip() and not ln.strip().startswith("#")
    ]
    return bool(lines) and all(INSTALL.match(ln) for ln in lines)


def declared_requirements() -> dict[str, list]:
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    project = data.get("project", {})
    reqs = list(project.get("dependencies", []))
    for group in project.get("optional-dependencies", {}).values():
        reqs.extend(group)
    out: dict[str, list] = {}
    for text in reqs:
        req = Requirement(text)
        out.setdefault(canonicalize_name(req.name), []).append(req)
    return out


def contract_floors() -> dict[str, str]:
    """Package name -> the floor of the version contract that scaffold_db.py enforces."""
    from packaging.utils import canonicalize_name

    contract = json.loads((ROOT / "scripts" / "contract.json").read_text(encoding="utf-8"))
    return {canonicalize_name(n): spec["floor"] for n, spec in contract["packages"].items()}


def check_install_lines(block: Block) -> list[str]:
    from importlib import metadata

    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name

    declared = declared_requirements()
    problems = []
    for offset, raw in enumerate(block.code.splitlines(), start=1):
        match = INSTALL.match(raw.strip())
        if not match:
            continue
        where = f"{block.rel}:{block.line + offset}"
        for word in shlex.split(match.group(1)):
            if word.startswith("-"):
                continue
            try:
                req = Requirement(word)
            except InvalidRequirement as exc:
                problems.append(f"{where}: {word!r} is not a requirement: {exc}")
                continue
            name = canonicalize_name(req.name)
            if name not in declared:
                problems.append(
                    f"{where}: {req.name} is not declared in pyproject.toml, so no test "
                    "ran it; declare it there (and use it in a test) or drop it"
                )
                continue
            try:
                dist = metadata.distribution(req.name)
            except metadata.PackageNotFoundError:
                problems.append(f"{where}: {req.name} is declared but not installed here")
                continue
            extras = {canonicalize_name(e) for e in dist.metadata.get_all("Provides-Extra") or []}
            for extra in req.extras:
                if canonicalize_name(extra) not in extras:
                    problems.append(
                        f"{where}: {req.name} has no extra [{extra}] "
                        f"(it has: {', '.join(sorted(extras)) or 'none'})"
                    )
                declared_extras = {canonicalize_name(e) for r in declared[name] for e in r.extras}
                if canonicalize_name(extra) not in declared_extras:
                    problems.append(
                        f"{where}: {req.name}[{extra}] is not what pyproject.toml installs; "
                        "declare the extra there too"
                    )
            floor = contract_floors().get(name)
            if floor and f">={floor}" not in {str(spec) for spec in req.specifier}:
                problems.append(
                    f"{where}: write {req.name}>={floor}: every install line carries the floor "
                    "of the version contract (scripts/contract.json)"
                )
            if req.specifier and not req.specifier.contains(dist.version, prereleases=True):
                problems.append(
                    f"{where}: {req.name}{req.specifier} does not admit the tested "
                    f"version {dist.version}"
                )
    return problems


TREE_LINE = re.compile(r"^((?:(?:│|\|)\s{3}|\s{4})*)(?:├──|└──|\|--|`--)\s+(.*)$")


def parse_tree(block: Block) -> list[str]:
    """Read a drawn directory tree into relative paths (directories end with /)."""
    paths: list[str] = []
    stack: list[str | None] = []  # directory names from the root down; None under a file
    for offset, raw in enumerate(block.code.splitlines(), start=1):
        if not raw.strip():
            continue
        where = f"{block.rel}:{block.line + offset}"
        text = re.sub(r"\s+#\s.*$", "", raw.rstrip())
        match = TREE_LINE.match(text)
        if match:
            depth = len(match.group(1)) // 4 + 1
            name = match.group(2).strip()
        elif not raw[:1].isspace() and not raw.startswith(("│", "|")):
            depth, name = 0, text.strip()
        else:
            raise BlockFailure(f"{where}: cannot read this tree line: {raw!r}")
        if depth > len(stack) or (depth and stack[depth - 1] is None):
            raise BlockFailure(f"{where}: {name!r} is not under a directory of the line above")
        stack = stack[:depth]
        paths.append("".join(s for s in stack if s) + name)
        stack.append(name if name.endswith("/") else None)
    return paths


IGNORED_PARTS = {"__pycache__", ".pytest_cache", ".ruff_cache"}


def compare_tree(block: Block, entries: list[str], project: Path) -> list[str]:
    problems = []
    tops = {e.split("/", 1)[0] + ("/" if "/" in e else "") for e in entries}
    listed = {e.rstrip("/") for e in entries}
    for entry in entries:
        path = project / entry
        if entry.endswith("/") and not path.is_dir():
            problems.append(f"{block.where}: the tree shows {entry} but no code created it")
        elif not entry.endswith("/") and not path.is_file():
            problems.append(f"{block.where}: the tree shows {entry} but no code created it")
    for top in tops:
        if not top.endswith("/") or not (project / top).is_dir():
            continue
        for path in sorted((project / top).rglob("*")):
            rel = path.relative_to(project)
            if IGNORED_PARTS & set(rel.parts) or path.suffix == ".pyc":
                continue
            if rel.as_posix() not in listed:
                problems.append(
                    f"{block.where}: the code creates {rel.as_posix()}, the tree omits it"
                )
    return problems


# --- ruff over every Python block ----------------------------------------------------------


def ruff_workspace(docs: list[Document], dest: Path) -> dict[str, list[Block]]:
    """Write each document's Python blocks: file blocks as files, the rest as one notebook."""
    layout: dict[str, list[Block]] = {}
    for index, doc in enumerate(docs):
        folder = dest / f"doc{index}"
        cells = []
        versions: dict[str, int] = {}  # one path written by several blocks: each is linted
        for block in doc.blocks:
            if block.kind != "python" or block.error or "skip" in block.attrs:
                continue
            if "file" in block.attrs:
                seen = versions[block.attrs["file"]] = versions.get(block.attrs["file"], 0) + 1
                base = folder if seen == 1 else dest / f"doc{index}-v{seen}"
                target = base / block.attrs["file"]
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(block.code, encoding="utf-8")
                layout[str(target.resolve())] = [block]
            else:
                cells.append(block)
        if cells:
            folder.mkdir(parents=True, exist_ok=True)
            notebook = folder / "blocks.ipynb"
            notebook.write_text(json.dumps(make_notebook(cells)), encoding="utf-8")
            layout[str(notebook.resolve())] = cells
    return layout


def make_notebook(blocks: list[Block]) -> dict:
    return {
        "cells": [
            {
                "cell_type": "code",
                "execution_count": None,
                "id": f"c{i}",
                "metadata": {},
                "outputs": [],
                "source": b.code.rstrip("\n").splitlines(keepends=True),
            }
            for i, b in enumerate(blocks)
        ],
        "metadata": {"language_info": {"name": "python"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def ruff_binary() -> str:
    candidate = Path(sys.executable).parent / "ruff"
    return str(candidate) if candidate.exists() else (shutil.which("ruff") or "ruff")


def ruff_findings(docs: list[Document]) -> list[str]:
    """ruff check and ruff format --check over all Python blocks, as `file:line: ...`."""
    findings: list[str] = []
    with tempfile.TemporaryDirectory(prefix="snippet-ruff-") as tmp:
        layout = ruff_workspace(docs, Path(tmp))
        if not layout:
            return []
        first_party = sorted(
            {"app"}  # the user's package, as the prompts call it
            | {
                Path(b.attrs["file"]).parts[0].removesuffix(".py")
                for d in docs
                for b in d.blocks
                if b.kind == "python" and "file" in b.attrs
            }
        )
        config = [
            "--config",
            f"lint.select={json.dumps(RUFF_SELECT.split(','))}",
            "--config",
            "line-length=100",
            "--config",
            'target-version="py311"',
            "--config",
            f"lint.isort.known-first-party={json.dumps(first_party)}",
        ]
        proc = subprocess.run(
            [ruff_binary(), "check", "--no-cache", "--output-format", "json", *config, tmp],
            capture_output=True,
            text=True,
        )
        if proc.returncode not in (0, 1):
            return [f"ruff check could not run: {proc.stderr.strip()}"]
        for item in json.loads(proc.stdout or "[]"):
            blocks = layout.get(str(Path(item["filename"]).resolve()))
            if not blocks:
                continue
            cell = item.get("cell")
            block = blocks[(cell or 1) - 1]
            line = block.line + item["location"]["row"]
            findings.append(f"{block.rel}:{line}: ruff {item['code']}: {item['message']}")
        proc = subprocess.run(
            [ruff_binary(), "format", "--no-cache", "--diff", *config[2:6], tmp],
            capture_output=True,
            text=True,
        )
        if proc.returncode not in (0, 1):
            return findings + [f"ruff format could not run: {proc.stderr.strip()}"]
        headers = list(re.finditer(r"^--- (.+?)(?::cell (\d+))?$", proc.stdout, re.M))
        for index, match in enumerate(headers):
            after = headers[index + 1].start() if index + 1 < len(headers) else None
            section = proc.stdout[match.end() : after]
            if not re.search(r"^@@ ", section, re.M):
                continue  # ruff lists unchanged cells of a changed notebook too
            blocks = layout.get(str(Path(match.group(1)).resolve()))
            if not blocks:
                continue
            block = blocks[int(match.group(2) or 1) - 1]
            findings.append(
                f"{block.where}: ruff format would change this block "
                "(run `ruff format` on it and paste it back)"
            )
    return sorted(set(findings), key=_sort_key)


def _sort_key(finding: str) -> tuple[str, int]:
    file, _, rest = finding.partition(":")
    number = rest.split(":", 1)[0]
    return file, int(number) if number.isdigit() else 0


# --- whole-document convenience (used by tests and the CLI) ---------------------------------


@dataclass
class Outcome:
    block: Block | None
    status: str  # passed, failed, skipped
    message: str = ""


def run_document(
    doc: Document, backend: str, *, until: Block | None = None, stop_on_failure: bool = False
) -> list[Outcome]:
    """Run a document's blocks in order. `until`: only the blocks up to that one;
    `stop_on_failure`: stop at the first block that fails (both skip the final load check)."""
    outcomes: list[Outcome] = []
    if doc.error:
        return [Outcome(None, "failed", doc.error)]
    run = DocumentRun(doc, backend)
    try:
        run.start()
    except BlockFailure as exc:
        return [Outcome(None, "failed", str(exc))]
    try:
        for block in ordered(doc, backend):
            try:
                run.run(block)
                outcomes.append(Outcome(block, "passed"))
            except BlockSkipped as exc:
                outcomes.append(Outcome(block, "skipped", str(exc)))
            except BlockFailure as exc:
                outcomes.append(Outcome(block, "failed", str(exc)))
                if stop_on_failure:
                    return outcomes
            if block is until:
                return outcomes
        try:
            run.finish()
        except BlockFailure as exc:
            outcomes.append(Outcome(None, "failed", str(exc)))
    finally:
        run.close()
    return outcomes


def ordered(doc: Document, backend: str) -> list[Block]:
    """The blocks of a run in execution order: trees last, once the code has run."""
    blocks = [b for b in doc.blocks if b.error or backend in planned(doc, b)]
    return [b for b in blocks if b.kind != "tree"] + [b for b in blocks if b.kind == "tree"]


def untouched(doc: Document) -> list[Block]:
    """Blocks that no backend of the document would run."""
    return [b for b in doc.blocks if not b.error and not planned(doc, b)]


def iter_blocks(paths: list[Path] | None = None) -> Iterator[tuple[Document, Block]]:
    for path in prompt_files(paths):
        doc = parse_document(path)
        for block in doc.blocks:
            yield doc, block


def format_document(path: Path) -> list[str]:
    """Rewrite the Python blocks of one markdown file the way test_ruff wants them (imports
    sorted, `ruff format`); returns the `file:line` of each block it changed."""
    doc = parse_document(path)
    lines = doc.text.split("\n")
    changed = []
    for block in sorted(doc.blocks, key=lambda b: b.line, reverse=True):
        if block.kind != "python" or block.error or "skip" in block.attrs or not block.end:
            continue
        sort = subprocess.run(  # imports sorted as test_ruff wants them (rule I)
            [
                *(ruff_binary(), "check", "--select", "I", "--fix", "--exit-zero", "--quiet"),
                *("--config", f"lint.isort.known-first-party={json.dumps(['app', 'tests'])}"),
                *("--config", "line-length=100", "--stdin-filename", "block.py", "-"),
            ],
            input=block.code,
            capture_output=True,
            text=True,
        )
        proc = subprocess.run(
            [ruff_binary(), "format", "--config", "line-length=100", "-"],
            input=sort.stdout if sort.returncode == 0 else block.code,
            capture_output=True,
            text=True,
        )
        if proc.returncode != 0 or proc.stdout == block.code:
            continue
        body = [block.indent + line if line else line for line in proc.stdout.split("\n")[:-1]]
        lines[block.line : block.end - 1] = body
        changed.append(block.where)
    if changed:
        path.write_text("\n".join(lines), encoding="utf-8")
    return sorted(changed, key=_sort_key)


def main(argv: list[str]) -> int:
    if argv and argv[0] == "format" and len(argv) > 1:
        for name in argv[1:]:
            for where in format_document(Path(name)):
                print(f"{where}: formatted")
        return 0
    if not argv or argv[0] not in ("list",):
        print(
            "usage: python scripts/snippets.py list [PATH ...]\n"
            "       python scripts/snippets.py format FILE.md ...  (ruff format, in place)",
            file=sys.stderr,
        )
        return 2
    paths = [Path(p) for p in argv[1:]] or None
    count = 0
    for doc, block in iter_blocks(paths):
        count += 1
        what = (
            "ERROR " + block.error
            if block.error
            else (
                f"skip: {block.attrs['skip']}"
                if "skip" in block.attrs
                else f"{block.kind} on {','.join(planned(doc, block)) or 'no backend'}"
            )
        )
        attrs = " ".join(f"{k}={v}" for k, v in block.attrs.items() if k != "skip")
        print(f"{block.where}\t{block.lang or '-'}\t{attrs}\t{what}")
    print(f"{count} blocks")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
