"""The block model: what a fenced block and its document are, and where each runs."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROMPT_DIRS = ("commands", "skills", "agents", "references")
BACKENDS = ("sqlite", "postgres")
# when=: which backend or option scaffold_db.py writes a file= block for
KNOWN_ATTRS = frozenset({"file", "skip", "backend", "reads", "when", "import"})

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
    def skipped(self) -> bool:
        return "skip" in self.attrs

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


@dataclass
class Outcome:
    block: Block | None
    status: str  # passed, failed, skipped
    message: str = ""


def rel_path(path: Path) -> str:
    path = Path(path).resolve()
    try:
        return path.relative_to(ROOT).as_posix()
    except ValueError:
        return path.as_posix()


def module_name(rel_file: str) -> str | None:
    """The dotted module a file= path is imported as, or None when it is not importable."""
    parts = Path(rel_file).with_suffix("").parts
    if not parts or not all(p.isidentifier() for p in parts):
        return None
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts) or None


def planned(doc: Document, block: Block) -> tuple[str, ...]:
    """The backends this block runs on within its document."""
    if block.backends is None:
        return doc.backends
    return tuple(b for b in block.backends if b in doc.backends)


def ordered(doc: Document, backend: str) -> list[Block]:
    """The blocks of a run in execution order: trees last, once the code has run."""
    blocks = [b for b in doc.blocks if b.error or backend in planned(doc, b)]
    return [b for b in blocks if b.kind != "tree"] + [b for b in blocks if b.kind == "tree"]


def untouched(doc: Document) -> list[Block]:
    """Blocks that no backend of the document would run."""
    return [b for b in doc.blocks if not b.error and not planned(doc, b)]


def sort_key(finding: str) -> tuple[str, int]:
    """Order `file:line: ...` messages by file, then line number."""
    file, _, rest = finding.partition(":")
    number = rest.split(":", 1)[0]
    return file, int(number) if number.isdigit() else 0
