"""Parsing: markdown into a Document of Blocks, info strings into attributes, directives."""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from pathlib import Path

from .model import (
    BACKENDS,
    KNOWN_ATTRS,
    LANGUAGES,
    PROMPT_DIRS,
    ROOT,
    Block,
    BlockFailure,
    Document,
    rel_path,
)

DIRECTIVE = re.compile(r"<!--\s*snippets:\s*(.*?)\s*-->", re.S)


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
    """`python file=x.py` -> ("python", {"file": "x.py"}, None); the third is a problem."""
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
    return lang, attrs, attribute_problem(attrs)


def attribute_problem(attrs: dict[str, str]) -> str | None:
    if "skip" in attrs and not attrs["skip"].strip():
        return 'skip needs a written reason: skip="why this block is not run"'
    if "import" in attrs:
        if attrs["import"] != "no":
            return f"import={attrs['import']}: the only value is import=no"
        if "file" not in attrs:
            return "import=no needs file=PATH: it says how a written file is loaded"
    for name in attrs["backend"].split(",") if "backend" in attrs else []:
        if name.strip() not in BACKENDS:
            return f"unknown backend {name!r}; known: {', '.join(BACKENDS)}"
    return None


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

    lines = text.split("\n")
    blocks = [
        block_from_token(token, lines, path, rel)
        for token in MarkdownIt("commonmark").parse(strip_frontmatter(text))
        if token.type in ("fence", "code_block") and token.map is not None
    ]
    backends, uses, error = read_directives(text, path, rel)
    return Document(path, rel, text, blocks, backends, error, uses)


def block_from_token(token, lines: list[str], path: Path, rel: str) -> Block:
    first, after = token.map
    if token.type == "code_block":
        block = Block(path, rel, first + 1, "", token.content)
        block.error = "an indented code block; write it as a fenced block with a language"
        return block
    opening = lines[first]
    closing = lines[after - 1].strip() if after - 1 > first else ""
    end = after if closing.startswith(opening.strip()[:3]) else 0
    indent = opening[: len(opening) - len(opening.lstrip())]
    block = Block(path, rel, first + 1, token.info, token.content, end, indent)
    block.lang, block.attrs, block.error = parse_info(token.info)
    if block.error is None and block.kind is None and not block.skipped:
        langs = ", ".join(sorted(set(LANGUAGES)))
        block.error = (
            f'no handler for language {block.lang!r}; use one of {langs}, or add skip="reason"'
        )
    return block


def read_directives(text: str, path: Path, rel: str):
    """`<!-- snippets: backends=... uses=... -->` -> (backends, uses, problem)."""
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
    return backends, tuple(uses), error


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
    for root in map(Path, roots):
        if root.is_file():
            files.append(root.resolve())
        elif root.is_dir():
            files.extend(p.resolve() for p in sorted(root.rglob("*.md")))
    return files


def iter_blocks(paths: list[Path] | None = None) -> Iterator[tuple[Document, Block]]:
    for path in prompt_files(paths):
        doc = parse_document(path)
        for block in doc.blocks:
            yield doc, block
