"""Fix and install lines that resolve with the project: built from its own manifest (extras
kept), the requirements of what it has installed (upper bounds they need, or the companion
upgrades they force), and the URLs its code relies on; then checked by the project's own
resolver, nothing installed: `pip install --dry-run --report`, or `uv add` / `poetry add
--lock` in a throwaway copy of the project's manifest and lock.

Used by preflight.py. Standard library only; any Python 3.8+.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*(.*)$")


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def version_tuple(text: str) -> tuple[int, ...]:
    match = re.match(r"\d+(?:\.\d+)*", text.strip())
    return tuple(int(p) for p in match.group(0).split(".")) if match else ()


# --- what the project declares --------------------------------------------------------------


@dataclass
class Declared:
    name: str
    extras: set[str]
    spec: str  # the version part as written ("^2.7.4", "==2.0.20", ">=2")
    where: str  # file:line
    pinned: bool  # an exact pin in a requirements file


def requirement_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("requirements*.txt") if p.is_file())


def declared(folder: Path) -> dict[str, Declared]:
    """The packages the project declares in the tool's folder: pyproject.toml ([project]
    dependencies, [tool.poetry.dependencies]) and requirements*.txt."""
    found: dict[str, Declared] = {}
    pyproject = folder / "pyproject.toml"
    if pyproject.is_file():
        lines = pyproject.read_text(encoding="utf-8", errors="replace").splitlines()
        section = ""
        for number, line in enumerate(lines, start=1):
            header = re.match(r"^\s*\[([^\]]+)\]\s*$", line)
            if header:
                section = header.group(1).strip()
                continue
            where = f"pyproject.toml:{number}"
            if section == "project" or section.startswith("project."):
                for text in re.findall(r"""["']([A-Za-z0-9][^"']*)["']""", line):
                    match = NAME.match(text)
                    if (
                        match
                        and not re.match(r"^[\d.]+$", match.group(1))
                        and "=" not in line.split(text)[0][-3:]
                    ):
                        add(found, match, where, pinned=False)
            elif section == "tool.poetry.dependencies" or re.match(
                r"tool\.poetry\.group\.[^.]+\.dependencies", section
            ):
                item = re.match(r"""^\s*["']?([A-Za-z0-9][\w.-]*)["']?\s*=\s*(.+)$""", line)
                if item and item.group(1).lower() != "python":
                    value = item.group(2)
                    extras = re.search(r"extras\s*=\s*\[([^\]]*)\]", value)
                    version = re.search(r"""version\s*=\s*["']([^"']*)""", value)
                    spec = version.group(1) if version else value.strip().strip("\"'")
                    names = set(re.findall(r"[\w-]+", extras.group(1))) if extras else set()
                    found[canonical(item.group(1))] = Declared(
                        item.group(1), names, spec, where, False
                    )
    for path in requirement_files(folder):
        for number, line in enumerate(
            path.read_text(encoding="utf-8", errors="replace").splitlines(), start=1
        ):
            text = line.split("#", 1)[0].strip()
            if not text or text.startswith("-"):
                continue
            match = NAME.match(text)
            if match:
                add(found, match, f"{path.name}:{number}", pinned="==" in (match.group(3) or ""))
    return found


def add(found: dict, match, where: str, pinned: bool) -> None:
    extras = set(re.findall(r"[\w-]+", match.group(2) or ""))
    spec = (match.group(3) or "").split(";", 1)[0].strip()
    found[canonical(match.group(1))] = Declared(match.group(1), extras, spec, where, pinned)


# --- what the installed packages need ------------------------------------------------------


def upper_bounds(requires: dict[str, list[str]], name: str) -> list[tuple[str, str, str]]:
    """(distribution, its requirement on `name`, the bound's version) for each installed
    distribution that caps `name` (<, <=, ==, ~=)."""
    out = []
    for dist, lines in requires.items():
        for line in lines:
            if ";" in line and "extra ==" in line.split(";", 1)[1]:
                continue  # only under an extra the project may not use
            match = NAME.match(line.split(";", 1)[0])
            if not match or canonical(match.group(1)) != canonical(name):
                continue
            spec = match.group(3).strip("() ")
            for op, version in re.findall(r"(<=|<|==|~=)\s*([\w.*]+)", spec):
                if op == "~=":  # ~=X.Y(.Z) caps below the next release of the part before last
                    parts = version.split(".")
                    version = (
                        ".".join(parts[:-2] + [str(int(parts[-2]) + 1)])
                        if len(parts) > 1
                        else version
                    )
                elif op == "==":
                    version = version.rstrip(".*")
                out.append((dist, line.split(";", 1)[0].strip(), version))
    return out


@dataclass
class Line:
    requirements: list[str]
    reasons: list[str] = field(default_factory=list)  # why a bound, an extra or a companion
    edits: list[str] = field(default_factory=list)  # pinned requirement lines to change
    command: str = ""
    verdict: str = ""
    accepted: bool | None = None  # None: no resolver could be asked


def build(
    wanted: dict[str, tuple[str, str]],
    declared_here: dict[str, Declared],
    installed: dict[str, str | None],
    requires: dict[str, list[str]],
    caps: dict[str, tuple[str, str]],
) -> Line:
    """The requirements for `wanted` (name -> (install name with extras, floor)): the
    project's own extras kept, the caps its installed packages or its URLs put on them,
    and the companion upgrades a floor forces on a package that caps it lower."""
    line = Line([])
    companions: dict[str, str] = {}
    for name, (install, floor) in wanted.items():
        base, own = (
            install.split("[", 1)[0],
            set(re.findall(r"[\w-]+", install.split("[", 1)[1])) if "[" in install else set(),
        )
        mine = declared_here.get(canonical(base))
        extras = own | (mine.extras if mine else set())
        if mine and mine.extras - own:
            line.reasons.append(
                f"{base}: the extras {', '.join(sorted(mine.extras - own))} of {mine.where} kept"
            )
        spec = [f">={floor}"]
        bounds = [
            (d, f"{d} {installed.get(canonical(d)) or ''}".strip() + f" requires {r}", v)
            for d, r, v in upper_bounds(requires, base)
            if canonical(d) not in {canonical(w) for w in wanted}
        ]
        if name in caps:
            bounds.append(("", caps[name][1], caps[name][0]))
        allowed = [b for b in bounds if version_tuple(b[2]) > version_tuple(floor)]
        for dist, why, _ in bounds:
            if dist and all(why != a[1] for a in allowed):
                companions[dist] = f"{why}, below the floor {floor}"
        if allowed:
            _, why, version = min(allowed, key=lambda b: version_tuple(b[2]))
            spec.append(f"<{version}")
            line.reasons.append(f"{base}<{version}: {why}")
        extra = f"[{','.join(sorted(extras))}]" if extras else ""
        line.requirements.append(f"{base}{extra}{','.join(spec)}")
    for dist, why in sorted(companions.items()):
        line.requirements.append(dist)
        line.reasons.append(f"{dist} upgraded too: {why}")
    return line


# --- the project's resolver, nothing installed ----------------------------------------------


def command_for(tool: str, folder_shown: str, python_shown: str, requirements: list[str]) -> str:
    quoted = " ".join(shlex.quote(r) for r in requirements)
    prefix = f"cd {shlex.quote(folder_shown)} && " if folder_shown and tool != "pip" else ""
    if tool == "uv":
        return f"{prefix}uv add {quoted}"
    if tool == "poetry":
        return f"{prefix}poetry add {quoted}"
    return f"{shlex.quote(python_shown)} -m pip install {quoted}"


def check(tool: str, folder: Path, python: Path, line: Line, timeout: int = 300) -> None:
    """Ask the project's resolver whether `line` resolves; set line.accepted and verdict."""
    runner = {"uv": check_uv, "poetry": check_poetry, "pip": check_pip}[tool]
    try:
        runner(folder, python, line, timeout)
    except subprocess.TimeoutExpired:
        line.accepted, line.verdict = None, f"not checked: {tool} did not answer in {timeout} s"


def tool_path(name: str) -> str | None:
    return shutil.which(name)


def lock_root(folder: Path, lock: str) -> Path:
    """The folder holding the lock file (a uv workspace's root), `folder` or above it."""
    for candidate in (folder, *folder.parents):
        if (candidate / lock).is_file():
            return candidate
    return folder


def throwaway_copy(root: Path, dest: Path, names: tuple[str, ...]) -> None:
    """The manifests and locks of `root` and every folder below it, nothing else."""
    for top, dirs, files in os.walk(root):
        dirs[:] = [
            d for d in dirs if not d.startswith(".") and d not in ("node_modules", "__pycache__")
        ]
        for file in files:
            if file in names or file.startswith("README"):
                source = Path(top) / file
                target = dest / source.relative_to(root)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, target)


def verdict(line: Line, tool: str, done: subprocess.CompletedProcess, what: str) -> None:
    if done.returncode == 0:
        line.accepted, line.verdict = True, f"{tool} resolves it ({what}; nothing installed)"
        return
    said = "\n".join(ln for ln in (done.stderr + done.stdout).splitlines() if ln.strip())
    line.accepted, line.verdict = False, f"{tool} refuses it: {said[-600:]}"


def check_uv(folder: Path, python: Path, line: Line, timeout: int) -> None:
    uv = tool_path("uv")
    if not uv:
        line.accepted, line.verdict = None, "not checked: uv is not on PATH"
        return
    root = lock_root(folder, "uv.lock")
    with tempfile.TemporaryDirectory() as tmp:
        throwaway_copy(root, Path(tmp), ("pyproject.toml", "uv.lock", ".python-version"))
        where = Path(tmp) / folder.relative_to(root)
        # the venv's base interpreter: uv would otherwise lock the project's own venv
        base = subprocess.run(
            [str(python), "-c", "import sys; print(sys._base_executable)"],
            capture_output=True,
            text=True,
            timeout=60,
        ).stdout.strip()
        done = subprocess.run(
            [uv, "add", "--no-sync", "--python", base or str(python), *line.requirements],
            cwd=where,
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**os.environ, "UV_NO_PROGRESS": "1", "UV_PYTHON_DOWNLOADS": "never"},
        )
    verdict(line, "uv", done, "uv add --no-sync in a copy of pyproject.toml and uv.lock")


def check_poetry(folder: Path, python: Path, line: Line, timeout: int) -> None:
    poetry = tool_path("poetry")
    if not poetry:
        line.accepted, line.verdict = None, "not checked: poetry is not on PATH"
        return
    with tempfile.TemporaryDirectory() as tmp:
        throwaway_copy(folder, Path(tmp), ("pyproject.toml", "poetry.lock"))
        env = {
            **os.environ,
            "POETRY_VIRTUALENVS_CREATE": "false",
            "VIRTUAL_ENV": str(python.parent.parent),
        }
        done = subprocess.run(
            [poetry, "add", "--lock", "--no-interaction", *line.requirements],
            cwd=tmp,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
        )
    verdict(line, "poetry", done, "poetry add --lock in a copy of pyproject.toml and poetry.lock")


def check_pip(folder: Path, python: Path, line: Line, timeout: int) -> None:
    """With the project's pinned requirement files, changed where the line says."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        files = []
        for path in requirement_files(folder):
            copy = Path(tmp) / path.name
            copy.write_text(swap_pins(path, line), encoding="utf-8")
            files += ["-r", str(copy)]
        done = subprocess.run(
            [
                str(python),
                "-m",
                "pip",
                "install",
                "--dry-run",
                "--quiet",
                "--ignore-installed",
                "--disable-pip-version-check",
                "--report",
                str(report),
                *files,
                *line.requirements,
            ],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        chosen = {}
        if done.returncode == 0 and report.is_file():
            for item in json.loads(report.read_text(encoding="utf-8")).get("install", []):
                meta = item.get("metadata", {})
                chosen[canonical(meta.get("name", ""))] = meta.get("version", "")
    if "No module named pip" in done.stderr:
        line.accepted, line.verdict = None, "not checked: the project's interpreter has no pip"
        return
    verdict(line, "pip", done, "pip install --dry-run with the project's requirement files")
    if line.accepted:
        edits = []
        for path in requirement_files(folder):
            for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
                match = NAME.match(text.split("#", 1)[0])
                if not match or "==" not in (match.group(3) or ""):
                    continue
                name = canonical(match.group(1))
                new = next(
                    (r for r in line.requirements if canonical(NAME.match(r).group(1)) == name),
                    None,
                )
                if new and chosen.get(name):
                    pinned = f"{new.split('>', 1)[0].split('<', 1)[0]}=={chosen[name]}"
                    if pinned != text.strip():
                        edits.append(f"{path.name}:{number}: {text.strip()} -> {pinned}")
        line.edits = edits


def swap_pins(path: Path, line: Line) -> str:
    """A requirements file with the line's packages in place of the project's pins."""
    wanted = {canonical(NAME.match(r).group(1)): r for r in line.requirements if NAME.match(r)}
    out = []
    for text in path.read_text(encoding="utf-8", errors="replace").splitlines():
        match = NAME.match(text.split("#", 1)[0])
        if match and canonical(match.group(1)) in wanted:
            continue  # the line's requirement stands instead
        out.append(text)
    return "\n".join(out) + "\n"
