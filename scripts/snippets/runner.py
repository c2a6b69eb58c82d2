"""Evaluating a document: one temporary project, namespace, database and event loop per
document and backend; each block handed to the handler for its language, in order."""

from __future__ import annotations

import linecache
import os
import shutil
import sys
import tempfile
import traceback
import types
from pathlib import Path

from .database import Database
from .handlers import HANDLERS
from .loads import loaded_version
from .model import ROOT, Block, BlockFailure, BlockSkipped, Document, Outcome, ordered, planned
from .parse import used_documents
from .sandbox import Sandbox


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


def cache_lines(doc: Document) -> None:
    """So that tracebacks and messages can quote markdown lines by `doc.rel`."""
    linecache.cache[doc.rel] = (len(doc.text), None, doc.text.splitlines(True), doc.rel)


class DocumentRun:
    """One document on one backend: start(), run(block) for each block, finish(), close()."""

    def __init__(self, doc: Document, backend: str) -> None:
        self.doc, self.backend = doc, backend
        # a real module, so that libraries which look classes up by __module__ find them
        self.module = types.ModuleType(f"snippet_{id(self):x}")
        self.namespace: dict[str, object] = self.module.__dict__
        self.failed: list[str] = []
        self.file_map: dict[str, Block] = {}
        self.project: Path | None = None
        self.loop = None
        self.sandbox: Sandbox | None = None
        self.db: Database | None = None
        self.awaiting_load: dict[str, Block] = {}  # import=no Python files nobody loaded yet

    def start(self) -> None:
        self.project = Path(tempfile.mkdtemp(prefix="snippet-"))
        for used in used_documents(self.doc):
            cache_lines(used)
        for block in project_files(self.doc, self.backend):
            self.write(block)
        self.sandbox = Sandbox(self.project)
        digest = abs(hash((self.doc.rel, os.getpid()))) % 10**10
        self.db = Database(self.backend, self.project, f"snippet_{digest}")
        self.db.create()
        env = {
            "DATABASE_URL": self.db.url,
            "CLAUDE_PLUGIN_ROOT": str(ROOT),  # as Claude Code sets it for the plugin
        }
        self.loop = self.sandbox.enter(env)
        sys.modules[self.module.__name__] = self.module
        cache_lines(self.doc)

    def write(self, block: Block) -> Path:
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

    def run(self, block: Block) -> None:
        if block.error:
            raise BlockFailure(f"{block.where}: {block.error}")
        if block.skipped:
            raise BlockSkipped(f"{block.where}: {block.attrs['skip']}")
        try:
            if block.inline:
                dest = self.write(block)
                if block.kind == "python":
                    self.awaiting_load[str(dest)] = block
            HANDLERS[block.kind](self, block)
            self.note_loads()
        except (BlockFailure, BlockSkipped):
            self.failed.append(block.where)
            raise
        except BaseException as exc:  # the snippet's own error, shown at its markdown line
            self.failed.append(block.where)
            if isinstance(exc, KeyboardInterrupt):
                raise
            raise BlockFailure(self.explain(block, exc)) from None

    def note_loads(self) -> None:
        """Strike off import=no files whose current version a process has compiled."""
        for path, block in list(self.awaiting_load.items()):
            if loaded_version(Path(path), block.code):
                del self.awaiting_load[path]

    def finish(self) -> None:
        """After the document's last block: every import=no Python file was loaded."""
        self.note_loads()
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
            if self.sandbox is not None:
                self.sandbox.restore(self.namespace, self.module.__name__)
        finally:
            if self.db is not None:
                try:
                    self.db.drop()
                except Exception:  # a database left behind is dropped by the next run's create
                    pass
            if self.project is not None:
                shutil.rmtree(self.project, ignore_errors=True)

    def explain(self, block: Block, exc: BaseException) -> str:
        """The block's failure, with the frames of its traceback at their markdown lines."""
        frames = [*self.frames(exc), *self.syntax_frame(exc)]
        where = block.where + (f" (file={block.attrs['file']})" if "file" in block.attrs else "")
        message = f"{where}: {block.lang} block failed: {type(exc).__name__}: {exc}"
        earlier = [w for w in self.failed if w != block.where]
        if earlier:
            message += f"\n  (an earlier block failed first: {earlier[0]})"
        return "\n".join([message, *frames])

    def frames(self, exc: BaseException) -> list[str]:
        frames = []
        for frame in traceback.extract_tb(exc.__traceback__):
            filename, lineno = frame.filename, frame.lineno or 0
            origin = self.file_map.get(str(Path(filename).resolve())) if filename else None
            if origin is not None:
                filename, lineno = origin.rel, origin.line + lineno
            elif filename != self.doc.rel:
                continue
            frames.append(f"  {filename}:{lineno}: {linecache.getline(filename, lineno).strip()}")
        return frames

    def syntax_frame(self, exc: BaseException) -> list[str]:
        if not isinstance(exc, SyntaxError) or not exc.filename:
            return []
        origin = self.file_map.get(str(Path(exc.filename).resolve()))
        lineno = (exc.lineno or 0) + (origin.line if origin is not None else 0)
        rel = origin.rel if origin is not None else self.doc.rel
        return [f"  {rel}:{lineno}: {(exc.text or '').strip()}"]


def materialize(doc: Document, backend: str, dest: Path) -> list[Path]:
    """Write the project a document builds (its files, as a reader would copy them) into
    `dest`, outside any test run: the benchmark serves the taught apps from there."""
    run = DocumentRun(doc, backend)
    run.project = Path(dest)
    return [run.write(block) for block in project_files(doc, backend)]


def run_document(
    doc: Document, backend: str, *, until: Block | None = None, stop_on_failure: bool = False
) -> list[Outcome]:
    """Run a document's blocks in order. `until`: only the blocks up to that one;
    `stop_on_failure`: stop at the first block that fails (both skip the final load check)."""
    if doc.error:
        return [Outcome(None, "failed", doc.error)]
    run = DocumentRun(doc, backend)
    try:
        run.start()
        outcomes = []
        for block in ordered(doc, backend):
            outcomes.append(outcome_of(run, block))
            if block is until or (stop_on_failure and outcomes[-1].status == "failed"):
                return outcomes
        try:
            run.finish()
        except BlockFailure as exc:
            outcomes.append(Outcome(None, "failed", str(exc)))
        return outcomes
    except BlockFailure as exc:  # start() failed
        return [Outcome(None, "failed", str(exc))]
    finally:
        run.close()


def outcome_of(run: DocumentRun, block: Block) -> Outcome:
    try:
        run.run(block)
    except BlockSkipped as exc:
        return Outcome(block, "skipped", str(exc))
    except BlockFailure as exc:
        return Outcome(block, "failed", str(exc))
    return Outcome(block, "passed")
