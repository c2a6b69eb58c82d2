"""Before anything is written: the project's own interpreter, its package versions, and the
version contract (contract.json beside this file).

Used by scaffold_db.py. Standard library only, and the probe it runs in the project's
interpreter works on any Python 3.8+, so that an interpreter below the floor is named rather
than crashed on.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

CONTRACT = Path(__file__).resolve().with_name("contract.json")
sys.path.insert(0, str(CONTRACT.parent))  # resolve.py, even under -I
import resolve  # noqa: E402

ROOT_MARKERS = (".git", "uv.lock", "poetry.lock", "pdm.lock", "Pipfile.lock")
DRIVERS = {"postgres": "asyncpg", "supabase": "asyncpg", "mysql": "aiomysql", "sqlite": "aiosqlite"}

# Runs in the project's interpreter: old syntax only, no third-party imports.
PROBE = r"""
import json, sys
try:
    from importlib import metadata
except ImportError:
    metadata = None
import re
found = {}
names = json.loads(sys.argv[1])
for name in names:
    try:
        found[name] = metadata.version(name) if metadata else None
    except Exception:
        found[name] = None
def key(text):
    return re.sub(r"[-_.]+", "-", text).lower()
wanted = set(key(n) for n in names)
requires = {}
for dist in (metadata.distributions() if metadata else []):
    try:
        lines = [r for r in (dist.requires or [])
                 if key(re.split(r"[^A-Za-z0-9._-]", r.strip(), 1)[0]) in wanted]
        dist_name = dist.metadata["Name"]
    except Exception:
        continue
    if lines and dist_name:
        requires[dist_name] = lines
print(json.dumps({"python": "%d.%d.%d" % tuple(sys.version_info[:3]),
                  "executable": sys.executable, "packages": found, "requires": requires}))
"""


class PreflightError(Exception):
    """The project cannot take the layer as it is; the message says what to run."""


def load_contract(path: Path = CONTRACT) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def contract_table(contract: dict | None = None) -> str:
    """The contract as the markdown table the README shows (a test keeps the two equal)."""
    contract = contract or load_contract()
    python = contract["python"]
    rows = [
        "| package | floor | needed for | why this floor |",
        "| --- | --- | --- | --- |",
        f"| Python | {python['floor']} | everything | {python['why']} |",
    ]
    for spec in contract["packages"].values():
        needed_by = spec["needed_by"].replace(",", ", ")
        rows.append(f"| {spec['install']} | {spec['floor']} | {needed_by} | {spec['why']} |")
    return "\n".join(rows) + "\n"


version_tuple = resolve.version_tuple  # one reading of versions for both


def below(installed: str, floor: str) -> bool:
    have, need = version_tuple(installed), version_tuple(floor)
    width = max(len(have), len(need))
    return have + (0,) * (width - len(have)) < need + (0,) * (width - len(need))


def needed(backend: str, options: set[str], contract: dict) -> list[str]:
    """The contract's packages this backend and these options need, in contract order."""
    wanted = {"layer", backend} | options
    return [
        name
        for name, spec in contract["packages"].items()
        if wanted & set(spec["needed_by"].split(","))
    ]


def requirement(name: str, contract: dict) -> str:
    spec = contract["packages"][name]
    return f"{spec['install']}>={spec['floor']}"


# --- the project's tool and interpreter ----------------------------------------------------


def walk_up(start: Path, project: Path) -> list[Path]:
    """Folders from `start` up to the project root: the first with .git or a lock file, or
    `project` itself when no such folder is above it."""
    chain = [start, *start.parents]
    marked = [f for f in chain if any((f / m).exists() for m in ROOT_MARKERS)]
    top = marked[0] if marked else project
    if top not in chain:
        return [start]
    return chain[: chain.index(top) + 1]


@dataclass
class Tool:
    name: str  # uv, poetry or pip
    folder: Path  # where the command runs: the folder of the nearest pyproject.toml

    def command(self, requirements: list[str], python: Path, project: Path) -> str:
        quoted = " ".join(shlex.quote(r) for r in requirements)
        where = self.folder.relative_to(project).as_posix() if self.folder != project else ""
        prefix = f"cd {shlex.quote(where)} && " if where and self.name != "pip" else ""
        if self.name == "uv":
            return f"{prefix}uv add {quoted}"
        if self.name == "poetry":
            return f"{prefix}poetry add {quoted}"
        return f"{shlex.quote(shown_path(python, project))} -m pip install {quoted}"


def shown_path(path: Path, project: Path) -> str:
    try:
        return path.relative_to(project).as_posix()
    except ValueError:
        return str(path)


def find_tool(folders: list[Path]) -> Tool:
    for folder in folders:
        pyproject = folder / "pyproject.toml"
        text = (
            pyproject.read_text(encoding="utf-8", errors="replace") if pyproject.is_file() else ""
        )
        if (folder / "poetry.lock").exists() or "[tool.poetry" in text:
            return Tool("poetry", nearest_pyproject(folders) or folder)
        if (folder / "uv.lock").exists() or "[tool.uv" in text:
            return Tool("uv", nearest_pyproject(folders) or folder)
    return Tool("pip", folders[-1])


def nearest_pyproject(folders: list[Path]) -> Path | None:
    return next((f for f in folders if (f / "pyproject.toml").is_file()), None)


def venv_python(venv: Path) -> Path | None:
    for rel in ("bin/python", "Scripts/python.exe"):
        if (venv / rel).exists():
            return venv / rel
    return None


def find_interpreter(folders: list[Path], tool: Tool, explicit: str | None) -> tuple[Path, str]:
    """(interpreter, how it was found). Order: --python, a .venv or venv folder from the
    package up to the project root, poetry's environment, $VIRTUAL_ENV, this Python."""
    if explicit:
        path = Path(explicit).expanduser()
        if not path.exists():
            raise PreflightError(f"--python {explicit}: no such file")
        return path, "--python"
    for folder in folders:
        for name in (".venv", "venv"):
            python = venv_python(folder / name)
            if python:
                return python, f"the project's {name}"
    if tool.name == "poetry" and shutil.which("poetry"):
        done = subprocess.run(
            ["poetry", "env", "info", "--path"],
            cwd=tool.folder,
            capture_output=True,
            text=True,
            timeout=60,
        )
        python = venv_python(Path(done.stdout.strip())) if done.returncode == 0 else None
        if python:
            return python, "poetry's environment"
    if os.environ.get("VIRTUAL_ENV"):
        python = venv_python(Path(os.environ["VIRTUAL_ENV"]))
        if python:
            return python, "the active virtualenv ($VIRTUAL_ENV)"
    return Path(sys.executable), "the Python running this script (no project venv found)"


def probe(python: Path, names: list[str]) -> dict:
    try:
        done = subprocess.run(
            [str(python), "-I", "-c", PROBE, json.dumps(names)],
            capture_output=True,
            text=True,
            timeout=60,
        )
    except OSError as exc:
        raise PreflightError(f"cannot run {python}: {exc}; pass --python PATH") from None
    if done.returncode != 0:
        raise PreflightError(
            f"{python} did not answer the version check: {done.stderr.strip()[-300:]}; "
            "pass --python PATH"
        )
    return json.loads(done.stdout)


# --- the verdict ---------------------------------------------------------------------------


@dataclass
class Report:
    python: Path
    how: str
    python_version: str
    tool: Tool
    installed: dict[str, str | None]
    needs: list[str]
    blockers: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    fixes: list[str] = field(default_factory=list)
    install: str = ""
    install_line: resolve.Line | None = None


def preflight(
    project: Path,
    package_dir: Path,
    backend: str,
    options: set[str],
    explicit_python: str | None = None,
    contract: dict | None = None,
    ask_resolver: bool = True,
) -> Report:
    contract = contract or load_contract()
    start = next(f for f in (package_dir, *package_dir.parents) if f.is_dir())
    folders = walk_up(start, project)
    tool = find_tool(folders)
    python, how = find_interpreter(folders, tool, explicit_python)
    every = [*contract["packages"], "greenlet", "psycopg2", "psycopg2-binary", "psycopg"]
    every += ["starlette", "sqlmodel"]
    answer = probe(python, list(dict.fromkeys(every)))
    needs = needed(backend, options, contract)
    report = Report(python, how, answer["python"], tool, answer["packages"], needs)
    shown = shown_path(python, project)

    floor = contract["python"]["floor"]
    if below(answer["python"], floor):
        report.blockers.append(
            f"Python {answer['python']} ({shown}) is below {floor}: "
            f"the layer needs {contract['python']['why']}"
        )
        report.fixes.append(python_fix(tool, floor, project))

    upgrades = []
    for name in needs:
        have, spec = answer["packages"].get(name), contract["packages"][name]
        if have is None or not below(have, spec["floor"]):
            continue
        why = spec["why"]
        if name == "pydantic" and version_tuple(have)[:1] == (1,):
            why = (
                "the layer's settings need pydantic 2 (pydantic-settings); moving a project "
                "from pydantic 1 to 2 changes its own models too: "
                "https://docs.pydantic.dev/latest/migration/"
            )
        report.blockers.append(f"{name} {have} is below {spec['floor']}: {why}")
        upgrades.append(name)
    lines = Lines(project, tool, python, contract, answer, ask_resolver)
    if upgrades:
        driver = DRIVERS.get(backend)
        if driver and driver in needs and not answer["packages"].get(driver):
            upgrades.append(driver)  # one line: the driver is missing too
        report.fixes += lines.say(upgrades)
    sqlmodel = answer["packages"].get("sqlmodel")
    if sqlmodel and below(sqlmodel, contract["packages"]["sqlmodel"]["floor"]):
        report.notes.append(
            f"sqlmodel {sqlmodel} is below {contract['packages']['sqlmodel']['floor']}, the "
            "floor of the async-sqlmodel skill; the db/ layer itself does not need it"
        )
    install = lines.make(needs)
    report.install, report.install_line = install.command, install
    return report


class Lines:
    """Fix and install lines in the project's tool, built by resolve.py from the project's
    manifest and installed packages, and checked by its resolver when asked."""

    def __init__(self, project, tool, python, contract, answer, ask_resolver) -> None:
        self.project, self.tool, self.python = project, tool, python
        self.contract, self.answer, self.ask = contract, answer, ask_resolver
        self.declared = resolve.declared(tool.folder)
        installed = {resolve.canonical(k): v for k, v in answer["packages"].items()}
        self.installed = installed
        self.caps = {}
        psycopg2 = installed.get("psycopg2") or installed.get("psycopg2-binary")
        sqlalchemy = installed.get("sqlalchemy")
        if (
            psycopg2
            and not installed.get("psycopg")
            and not (sqlalchemy and not below(sqlalchemy, "2.1"))
        ):
            self.caps["sqlalchemy"] = (
                "2.1",
                f"psycopg2 {psycopg2} is installed and psycopg 3 is not: from SQLAlchemy 2.1 a "
                "plain postgresql:// URL (a sync engine, Alembic) means psycopg 3",
            )

    def make(self, names: list[str]) -> resolve.Line:
        wanted = {
            n: (self.contract["packages"][n]["install"], self.contract["packages"][n]["floor"])
            for n in names
        }
        line = resolve.build(
            wanted, self.declared, self.installed, self.answer.get("requires", {}), self.caps
        )
        where = (
            self.tool.folder.relative_to(self.project).as_posix()
            if self.tool.folder != self.project
            else ""
        )
        line.command = resolve.command_for(
            self.tool.name, where, shown_path(self.python, self.project), line.requirements
        )
        if self.ask:
            resolve.check(self.tool.name, self.tool.folder, self.python, line)
        else:
            line.verdict = "not checked (--no-resolve)"
        return line

    def say(self, names: list[str]) -> list[str]:
        """The fix: the line, then why its bounds and extras are what they are, and what the
        resolver said; a line the resolver refuses is named as refused, never as the fix."""
        line = self.make(names)
        if line.accepted is False:
            return [
                f"(no line found that {self.tool.name} accepts) {line.command}",
                f"  {line.verdict}",
            ]
        out = [line.command]
        out += [f"  then change {edit}" for edit in line.edits]
        out += [f"  ({reason})" for reason in line.reasons]
        out.append(f"  ({line.verdict})")
        return out


def python_fix(tool: Tool, floor: str, project: Path) -> str:
    if tool.name == "uv":
        return f'uv python pin {floor} && uv sync (and requires-python = ">={floor}")'
    if tool.name == "poetry":
        return f'poetry env use python{floor} (and python = "^{floor}" in pyproject.toml)'
    return f"python{floor} -m venv .venv, then install the project into it"


def describe(report: Report, project: Path) -> list[str]:
    """What the preflight saw, for the user: one line a fact."""
    have = ", ".join(
        f"{n} {report.installed[n]}" if report.installed.get(n) else f"{n} (not installed)"
        for n in report.needs
    )
    return [
        f"checked {shown_path(report.python, project)} ({report.how}): "
        f"Python {report.python_version}; {have}",
        *[f"note: {n}" for n in report.notes],
    ]
