"""The pinned Claude Code CLI on one plugin folder: `claude plugin validate --strict --profile
directory`, read into messages (per file), what it loads, and its verdict."""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CLAUDE = Path(os.environ.get("CLAUDE_CLI") or ROOT / ".tools" / "node_modules" / ".bin" / "claude")
VALIDATING = re.compile(r"Validating (.+?): (/.+)$")
FOUND = re.compile(r"^([✘⚠]) Found \d+ ")
ITEM = re.compile(r"^  ❯ (.*)$")
PROVIDES = re.compile(r"^  ❯ (\w+): (\S.*)$")


@dataclass
class Message:
    level: str  # error or warning
    file: str | None  # relative to the plugin folder; None where the CLI names none
    text: str
    directory: bool = False  # from the plugin directory's own checks (--profile directory)


@dataclass
class Verdict:
    passed: bool
    seconds: float
    messages: list[Message] = field(default_factory=list)
    provides: set[str] = field(default_factory=set)  # "skills: plugin:name", ...
    output: str = ""


def validate(folder: Path, timeout: float = 120, cache: Path | None = None) -> Verdict:
    """The CLI's verdict on `folder`; with `cache`, its output is kept there per folder and
    CLI version, so that a run after a change to our validator does not ask the CLI again."""
    key = hashlib.sha256(f"{version()}:{folder}".encode()).hexdigest()
    stored = None if cache is None else cache / f"{key}.json"
    if stored is not None and stored.is_file():
        kept = json.loads(stored.read_text(encoding="utf-8"))
        return parse(kept["output"], folder, kept["seconds"])
    found = run_cli(folder, timeout)
    if stored is not None:
        stored.parent.mkdir(parents=True, exist_ok=True)
        stored.write_text(json.dumps({"output": found.output, "seconds": found.seconds}))
    return found


@functools.cache
def version() -> str:
    return subprocess.run([str(CLAUDE), "--version"], capture_output=True, text=True).stdout


def run_cli(folder: Path, timeout: float) -> Verdict:
    with tempfile.TemporaryDirectory() as home:
        started = time.perf_counter()
        try:
            done = subprocess.run(
                [str(CLAUDE), "plugin", "validate", "--strict", "--profile", "directory", "."],
                cwd=folder,
                env=os.environ | {"HOME": home, "CI": "true", "NO_COLOR": "1"},
                capture_output=True,
                text=True,
                timeout=timeout,
            )
            output = done.stdout + done.stderr
        except subprocess.TimeoutExpired:
            return Verdict(False, time.perf_counter() - started, output="timeout")
        seconds = time.perf_counter() - started
    return parse(output, folder, seconds)


def parse(output: str, folder: Path, seconds: float) -> Verdict:
    verdict = Verdict("Validation passed" in output, seconds, output=output)
    current: str | None = None
    level: str | None = None
    directory = providing = False
    for line in output.splitlines():
        if found := VALIDATING.search(line):
            current, level, directory, providing = relative(found[2], folder), None, False, False
        elif line.startswith("Plugin directory checks for"):
            current, level, directory, providing = None, None, True, False
        elif line.startswith("Provides:"):
            providing, level = True, None
        elif found := FOUND.match(line):
            level, providing = ("error" if found[1] == "✘" else "warning"), False
        elif line.startswith(("ℹ", "Hosts", "The directory", "About these")):
            level = None
            providing = False
        elif providing and (item := PROVIDES.match(line)):
            verdict.provides.add(f"{item[1]}: {item[2]}")
        elif level and (item := ITEM.match(line)):
            file = current
            if directory:
                file = item[1].split(" ", 1)[0].split(":", 1)[0]
            verdict.messages.append(Message(level, file, item[1], directory))
    return verdict


def relative(path: str, folder: Path) -> str:
    try:
        return Path(path).resolve().relative_to(folder.resolve()).as_posix()
    except ValueError:
        return path
