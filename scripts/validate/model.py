"""What the rules see: the plugin's files read once, and the findings they report."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True, order=True)
class Finding:
    rel: str
    line: int
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.rel}:{self.line}: [{self.rule}] {self.message}"


@dataclass
class Prompt:
    kind: str  # command, skill, agent, reference
    path: Path
    rel: str
    text: str = ""
    meta: dict = field(default_factory=dict)
    has_frontmatter: bool = False
    unparsed: bool = False  # a frontmatter Claude Code could not read (its keys are dropped)
    key_lines: dict[str, int] = field(default_factory=dict)
    body_start: int = 1  # file line where the body begins (as Claude Code splits it)
    cache: dict = field(default_factory=dict, compare=False, repr=False)  # parsed once

    @property
    def name(self) -> str:
        """How Claude Code registers it: skills by folder, the others by file name."""
        if self.kind == "skill":
            return self.path.parent.name
        if self.kind == "agent" and isinstance(self.meta.get("name"), str):
            return self.meta["name"]
        return self.path.stem

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, 1)

    @property
    def body(self) -> str:
        """The body, with the lines before it blanked so that offsets give file lines."""
        lines = self.text.split("\n")
        start = self.body_start - 1
        return "\n" * start + "\n".join(lines[start:])


@dataclass
class Json:
    rel: str
    data: object
    lines: dict[tuple, int]  # JSON path -> line of its key (or of the array element)

    def line(self, *path) -> int:
        for end in range(len(path), 0, -1):
            if tuple(path[:end]) in self.lines:
                return self.lines[tuple(path[:end])]
        return 1


@dataclass
class Plugin:
    root: Path
    name: str
    manifest: Json | None = None
    marketplace: Json | None = None
    hooks: Json | None = None
    mcp: Json | None = None  # .mcp.json, or the file plugin.json's mcpServers names
    prompts: list[Prompt] = field(default_factory=list)
    skill_folders: list[Path] = field(default_factory=list)
    early: list[Finding] = field(default_factory=list)  # found while reading
    _names: dict = field(default_factory=dict, compare=False, repr=False)  # built once
    cache: dict = field(default_factory=dict, compare=False, repr=False)  # rules' own, once

    def rel(self, path: Path) -> str:
        try:
            return Path(path).relative_to(self.root).as_posix()
        except ValueError:
            return Path(path).as_posix()

    def names(self, kind: str) -> set[str]:
        """The names Claude Code registers for one kind, indexed once (prompts are read
        before any rule runs)."""
        if kind not in self._names:
            if kind == "workflow":  # workflows/NAME.js
                folder = self.root / "workflows"
                found = {p.stem for p in folder.glob("*.js")} if folder.is_dir() else set()
            else:
                found = {p.name for p in self.prompts if p.kind == kind}
            self._names[kind] = found
        return self._names[kind]
