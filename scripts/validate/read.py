"""Reading a plugin's files the way Claude Code does, safely: no read blocks (FIFOs, devices),
no loop (symlinks), no input too deep or too large, no YAML alias bomb; what cannot be read
becomes a finding, never a traceback."""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path

import yaml

from .model import Finding, Json

MAX_BYTES = 4 * 2**20
MAX_FRONTMATTER = 2**20  # Claude Code loads a frontmatter of 70,000 characters; read 1 MB
# Claude Code's loader: frontmatter ends at the first `---` after the opening one, anywhere
CLI_FRONTMATTER = re.compile(r"---\s*\n([\s\S]*?)---\s*\n?")
LINE_FRONTMATTER = re.compile(r"---[ \t]*\r?\n([\s\S]*?)\r?\n---[ \t]*(\r?\n|$)")
NEEDS_QUOTES = re.compile(r"[{}[\]*&#!|>%@`]|: ")


class CoreLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # libyaml when there
    """YAML as Claude Code's JavaScript reader takes it (the 1.2 core schema): true/false are
    the only booleans, a date stays text, and a key that is a list or a mapping is read as
    text rather than refused."""

    def construct_mapping(self, node, deep=False):
        for index, (key, value) in enumerate(node.value):
            if isinstance(key, yaml.SequenceNode | yaml.MappingNode):
                text = str(self.construct_object(key, deep=True))
                text_node = yaml.ScalarNode("tag:yaml.org,2002:str", text, key.start_mark)
                node.value[index] = (text_node, value)
        return super().construct_mapping(node, deep=deep)


CoreLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
CoreLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
for first in "yYnNoO":  # YAML 1.1's yes/no/on/off are text in 1.2
    CoreLoader.yaml_implicit_resolvers[first] = [
        (tag, regexp)
        for tag, regexp in CoreLoader.yaml_implicit_resolvers.get(first, [])
        if tag != "tag:yaml.org,2002:bool"
    ]


class Unreadable(Exception):
    def __init__(self, line: int, rule: str, message: str) -> None:
        super().__init__(message)
        self.line, self.rule, self.message = line, rule, message


def read_text(path: Path, keep_bom: bool = False) -> str:
    try:
        info = os.stat(path)
    except OSError as exc:
        raise Unreadable(1, "file-unreadable", f"cannot read: {exc.strerror}") from None
    if not stat.S_ISREG(info.st_mode):
        raise Unreadable(1, "file-unreadable", "not a regular file; Claude Code skips it")
    if info.st_size > MAX_BYTES:
        raise Unreadable(1, "file-unreadable", f"{info.st_size} bytes; keep it under 4 MB")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise Unreadable(1, "file-unreadable", f"cannot read: {exc.strerror}") from None
    try:
        text = data.decode("utf-8")
        return text if keep_bom else text.removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        message = (
            f"not UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
            "save the file as UTF-8"
        )
        raise Unreadable(line, "file-encoding", message) from None


def read_json(path: Path, rel: str) -> Json:
    text = read_text(path, keep_bom=True)
    if text.startswith("\ufeff"):
        message = (
            "starts with a UTF-8 byte order mark, which Claude Code's JSON reader refuses: the "
            "whole plugin fails to load; save the file without it"
        )
        raise Unreadable(1, "json-invalid", message)
    if not text.strip():
        raise Unreadable(1, "json-invalid", "empty file; it must hold a JSON object")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        message = f"not valid JSON: {exc.msg} (column {exc.colno})"
        raise Unreadable(exc.lineno, "json-invalid", message) from None
    except RecursionError:
        raise Unreadable(1, "json-invalid", "nested too deeply to read") from None
    if not isinstance(data, dict):
        raise Unreadable(1, "json-invalid", "must be a JSON object")
    return Json(rel, data, json_lines(text))


JSON_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[{}\[\]:,]|[^\s{}\[\]:,"]+')


def json_lines(text: str) -> dict[tuple, int]:
    """JSON path -> line, for every key and array element (a scan of the tokens of a text
    json.loads has accepted)."""
    lines: dict[tuple, int] = {}
    stack: list[list] = []  # frames: [path, kind, index, key, expecting a key]
    line, counted = 1, 0  # lines counted as the scan goes: one pass over the text
    for match in JSON_TOKEN.finditer(text):
        line += text.count("\n", counted, match.start())
        counted = match.start()
        token = match.group(0)
        path: tuple = ()
        if stack:
            frame = stack[-1]
            if token in ("}", "]"):
                stack.pop()
                continue
            if token == ",":
                frame[2] += 1
                frame[4] = True
                continue
            if token == ":":
                continue
            if frame[1] == "object" and frame[4]:
                frame[3], frame[4] = json.loads(token), False
                lines[(*frame[0], frame[3])] = line
                continue
            path = (*frame[0], frame[3] if frame[1] == "object" else frame[2])
            lines.setdefault(path, line)
        if token in ("{", "["):
            stack.append([path, "object" if token == "{" else "array", 0, None, token == "{"])
    return lines


def split_frontmatter(text: str) -> tuple[str | None, int, int | None]:
    """(frontmatter, body start line, line of an early end) as Claude Code splits it."""
    if not text.startswith("---") or text.find("---", 3) < 0:
        return None, 1, None
    match = CLI_FRONTMATTER.match(text)
    if match is None:
        return None, 1, None
    body_start = text.count("\n", 0, match.end()) + 1 + (0 if match.group(0).endswith("\n") else 0)
    by_line = LINE_FRONTMATTER.match(text)
    early = None
    if by_line is None or by_line.group(1).strip() != match.group(1).strip():
        early = text.count("\n", 0, match.end(1)) + 1
    return match.group(1), body_start, early


def parse_frontmatter(source: str) -> tuple[object, dict[str, int]]:
    """YAML as Claude Code reads it: as written, and if that fails once more with values that
    hold YAML syntax quoted and leading tabs made spaces. Unreadable when both fail."""
    if len(source) > MAX_FRONTMATTER:
        message = f"{len(source)} characters: longer than this validator reads (1 MB)"
        raise Unreadable(2, "frontmatter-yaml", message)
    if deepest(source) > MAX_DEPTH:
        message = f"nested more than {MAX_DEPTH} levels deep; flatten it"
        raise Unreadable(2, "frontmatter-yaml", message)
    if "&" in source or "*" in source:
        check_aliases(source)
    try:
        return load(source)
    except (yaml.YAMLError, RecursionError, TypeError, ValueError) as first:
        try:
            return load(quote_values(source))
        except (yaml.YAMLError, RecursionError, TypeError, ValueError):
            mark = getattr(first, "context_mark", None) or getattr(first, "problem_mark", None)
            problem = getattr(first, "problem", None) or "nested too deeply"
            line = mark.line + 2 if mark else 2
            message = f"not YAML Claude Code reads: {problem}"
            raise Unreadable(line, "frontmatter-yaml", message) from None


MAX_DEPTH = 200


def deepest(source: str) -> int:
    """How deep [ and { nest outside quotes: bounded input for the YAML parser, whose time
    and recursion grow with depth."""
    depth = most = 0
    quote = None
    for char in source:
        if quote:
            quote = None if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char in "[{":
            depth += 1
            most = max(most, depth)
        elif char in "]}":
            depth = max(depth - 1, 0)
        elif char == "\n":
            quote = None
    return most


def check_aliases(source: str) -> None:
    try:
        for token in yaml.scan(source):
            if isinstance(token, yaml.AliasToken | yaml.AnchorToken):
                line = token.start_mark.line + 2
                message = "a YAML anchor or alias; Claude Code does not expand them in a plugin"
                raise Unreadable(line, "frontmatter-yaml", message)
    except yaml.YAMLError:
        return  # the parse reports it


def load(source: str) -> tuple[object, dict[str, int]]:
    """The data and the line of each top-level key, from one parse."""
    loader = CoreLoader(source)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    finally:
        loader.dispose()
    lines = {}
    if isinstance(node, yaml.MappingNode):
        for key, _ in node.value:
            lines[str(key.value)] = key.start_mark.line + 2
    return data, lines


def quote_values(source: str) -> str:
    """Claude Code's second try: `key: value` lines whose value holds YAML syntax are quoted."""
    out = []
    for line in source.split("\n"):
        match = re.match(r"^([a-zA-Z_-]+):\s+(\S.*)$", line)
        value = match.group(2) if match else ""
        quoted = value[:1] in "\"'" and value[-1:] == value[:1]
        if match and not quoted and not is_list(value) and NEEDS_QUOTES.search(value):
            escaped = value.replace("\\", "\\\\").replace('"', '\\"')
            line = f'{match.group(1)}: "{escaped}"'
        out.append(line)
    spaced = re.sub(r"^\t+", lambda m: "  " * len(m.group(0)), "\n".join(out), flags=re.M)
    return re.sub(r"^(\s*[^\s#:][^:\n]*):\t+", r"\1: ", spaced, flags=re.M)  # `key:<tab>value`


def is_list(value: str) -> bool:
    if not (value.startswith("[") and value.endswith("]")):
        return False
    try:
        return isinstance(yaml.safe_load(value), list)
    except yaml.YAMLError:
        return False


def walk(folder: Path, suffix: str, limit: int = 100_000, skip=None) -> list[Path]:
    """Files under `folder` (sorted), never following a symlinked folder (no loops), nor into
    a folder `skip` says to leave; the walk stops once it holds more than `limit` files (a
    folder linked to a large tree)."""
    found = []
    for top, dirs, files in os.walk(folder, followlinks=False):
        dirs[:] = sorted(d for d in dirs if skip is None or not skip(Path(top) / d))
        found.extend(Path(top) / f for f in sorted(files) if f.endswith(suffix))
        if len(found) > limit:
            break
    return found


def exists(path: Path) -> bool:
    try:
        return path.exists()
    except (OSError, ValueError):  # a name too long, a NUL byte
        return False


def finding(rel: str, exc: Unreadable) -> Finding:
    return Finding(rel, exc.line, exc.rule, exc.message)
