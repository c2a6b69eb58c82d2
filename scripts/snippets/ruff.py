"""ruff over the prompts' Python blocks, with one configuration for the check and for
`format`: the repository's own `[tool.ruff]` (pyproject.toml), plus the first-party
packages the prompts write (`app`, and the top folder of every file= block)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path

from .model import ROOT, Block, Document, sort_key
from .parse import parse_document, prompt_files


@dataclass(frozen=True)
class RuffConfig:
    select: tuple[str, ...]
    line_length: int
    target_version: str
    first_party: tuple[str, ...]

    @classmethod
    def for_documents(cls, docs: list[Document]) -> RuffConfig:
        data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
        ruff = data["tool"]["ruff"]
        written = {
            Path(b.attrs["file"]).parts[0].removesuffix(".py")
            for d in docs
            for b in d.blocks
            if b.kind == "python" and "file" in b.attrs
        }
        return cls(
            select=tuple(ruff["lint"]["select"]),
            line_length=ruff["line-length"],
            target_version=ruff["target-version"],
            first_party=tuple(sorted({"app"} | written)),  # `app`: the user's package
        )

    def toml(self) -> str:
        return "\n".join(
            [
                f"line-length = {self.line_length}",
                f"target-version = {json.dumps(self.target_version)}",
                "[lint]",
                f"select = {json.dumps(list(self.select))}",
                "[lint.isort]",
                f"known-first-party = {json.dumps(list(self.first_party))}",
                "",
            ]
        )

    def write(self, folder: Path) -> Path:
        path = folder / "ruff.toml"
        path.write_text(self.toml(), encoding="utf-8")
        return path


def ruff_binary() -> str:
    candidate = Path(sys.executable).parent / "ruff"
    return str(candidate) if candidate.exists() else (shutil.which("ruff") or "ruff")


def ruff(*args: str, config: Path, **kwargs) -> subprocess.CompletedProcess:
    command = [ruff_binary(), args[0], "--no-cache", "--config", str(config), *args[1:]]
    return subprocess.run(command, capture_output=True, text=True, **kwargs)


def workspace(docs: list[Document], dest: Path) -> dict[str, list[Block]]:
    """Write each document's Python blocks: file blocks as files, the rest as one notebook."""
    layout: dict[str, list[Block]] = {}
    for index, doc in enumerate(docs):
        folder, cells, versions = dest / f"doc{index}", [], {}
        for block in doc.blocks:
            if block.kind != "python" or block.error or block.skipped:
                continue
            if "file" not in block.attrs:
                cells.append(block)
                continue
            name = block.attrs["file"]  # one path written by several blocks: each is linted
            seen = versions[name] = versions.get(name, 0) + 1
            target = (folder if seen == 1 else dest / f"doc{index}-v{seen}") / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(block.code, encoding="utf-8")
            layout[str(target.resolve())] = [block]
        if cells:
            folder.mkdir(parents=True, exist_ok=True)
            notebook = folder / "blocks.ipynb"
            notebook.write_text(json.dumps(make_notebook(cells)), encoding="utf-8")
            layout[str(notebook.resolve())] = cells
    return layout


def make_notebook(blocks: list[Block]) -> dict:
    cells = [
        {
            "cell_type": "code",
            "execution_count": None,
            "id": f"c{i}",
            "metadata": {},
            "outputs": [],
            "source": b.code.rstrip("\n").splitlines(keepends=True),
        }
        for i, b in enumerate(blocks)
    ]
    metadata = {"language_info": {"name": "python"}}
    return {"cells": cells, "metadata": metadata, "nbformat": 4, "nbformat_minor": 5}


def ruff_findings(docs: list[Document], config: RuffConfig | None = None) -> list[str]:
    """ruff check and ruff format --check over all Python blocks, as `file:line: ...`;
    first-party packages are those the given documents write unless `config` says."""
    with tempfile.TemporaryDirectory(prefix="snippet-ruff-") as tmp:
        code_dir = Path(tmp) / "code"
        layout = workspace(docs, code_dir)
        if not layout:
            return []
        config = (config or RuffConfig.for_documents(docs)).write(Path(tmp))
        checked = ruff("check", "--output-format", "json", str(code_dir), config=config)
        if checked.returncode not in (0, 1):
            return [f"ruff check could not run: {checked.stderr.strip()}"]
        findings = check_findings(layout, json.loads(checked.stdout or "[]"))
        formatted = ruff("format", "--diff", str(code_dir), config=config)
        if formatted.returncode not in (0, 1):
            return findings + [f"ruff format could not run: {formatted.stderr.strip()}"]
        findings += format_findings(layout, formatted.stdout)
    return sorted(set(findings), key=sort_key)


def check_findings(layout: dict[str, list[Block]], items: list[dict]) -> list[str]:
    findings = []
    for item in items:
        blocks = layout.get(str(Path(item["filename"]).resolve()))
        if blocks:
            block = blocks[(item.get("cell") or 1) - 1]
            line = block.line + item["location"]["row"]
            findings.append(f"{block.rel}:{line}: ruff {item['code']}: {item['message']}")
    return findings


def format_findings(layout: dict[str, list[Block]], diff: str) -> list[str]:
    findings = []
    headers = list(re.finditer(r"^--- (.+?)(?::cell (\d+))?$", diff, re.M))
    for index, match in enumerate(headers):
        after = headers[index + 1].start() if index + 1 < len(headers) else None
        if not re.search(r"^@@ ", diff[match.end() : after], re.M):
            continue  # ruff lists unchanged cells of a changed notebook too
        blocks = layout.get(str(Path(match.group(1)).resolve()))
        if blocks:
            block = blocks[int(match.group(2) or 1) - 1]
            findings.append(
                f"{block.where}: ruff format would change this block "
                "(run `ruff format` on it and paste it back)"
            )
    return findings


def format_document(path: Path) -> list[str]:
    """Rewrite the Python blocks of one markdown file the way the ruff test wants them
    (imports sorted, `ruff format`), with the test's own configuration; returns the
    `file:line` of each block it changed."""
    doc = parse_document(path)
    docs = [parse_document(p) for p in prompt_files()] + [doc]
    lines, changed = doc.text.split("\n"), []
    with tempfile.TemporaryDirectory(prefix="snippet-format-") as tmp:
        config = RuffConfig.for_documents(docs).write(Path(tmp))
        for block in sorted(doc.blocks, key=lambda b: b.line, reverse=True):
            if block.kind != "python" or block.error or block.skipped or not block.end:
                continue
            code = formatted_block(block, config)
            if code is None or code == block.code:
                continue
            body = [block.indent + line if line else line for line in code.split("\n")[:-1]]
            lines[block.line : block.end - 1] = body
            changed.append(block.where)
    if changed:
        Path(path).write_text("\n".join(lines), encoding="utf-8")
    return sorted(changed, key=sort_key)


def formatted_block(block: Block, config: Path) -> str | None:
    name = block.attrs.get("file", "block.py")
    stdin = ("--stdin-filename", name, "-")
    fix = ("--select", "I", "--fix", "--exit-zero", "--quiet")
    sort = ruff("check", *fix, *stdin, config=config, input=block.code)
    source = sort.stdout if sort.returncode == 0 else block.code
    done = ruff("format", *stdin, config=config, input=source)
    return done.stdout if done.returncode == 0 else None
