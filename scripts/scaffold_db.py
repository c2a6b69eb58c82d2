#!/usr/bin/env python3
"""Write the async database layer into a project.

    python scaffold_db.py BACKEND [--project DIR] [--package app/db] [--no-fastapi] [--no-uow]
                                  [--pool-size N] [--max-overflow N] [--pool-timeout S]
                                  [--pool-recycle S] [--env] [--force] [--dry-run]

BACKEND is postgres, supabase, mysql or sqlite. The files are the code blocks of
skills/async-db-layer/references/db-package.md, the same blocks the plugin's tests run, so
the code written here is the code that was tested. Nothing that exists is overwritten unless
--force is given, and then the old file is kept as FILE.bak first.

Standard library only: it runs on the user's own Python (3.11+).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

SOURCE = (
    Path(__file__).resolve().parent.parent
    / "skills"
    / "async-db-layer"
    / "references"
    / "db-package.md"
)
BACKENDS = ("postgres", "supabase", "mysql", "sqlite")
OPTIONS = ("fastapi", "uow")
DRIVERS = {"postgres": "asyncpg", "supabase": "asyncpg", "mysql": "aiomysql", "sqlite": "aiosqlite"}
FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})(?P<info>[^`]*)$")


class ScaffoldError(Exception):
    """A problem the user can fix; the message says how. Nothing has been written."""


@dataclass
class Block:
    line: int
    lang: str
    attrs: dict[str, str]
    code: str


def read_blocks(path: Path = SOURCE) -> list[Block]:
    """The fenced blocks of a markdown file (top-level fences, as the reference uses)."""
    blocks, lines = [], path.read_text(encoding="utf-8").split("\n")
    i = 0
    while i < len(lines):
        match = FENCE.match(lines[i])
        if not match:
            i += 1
            continue
        fence, info = match.group("fence"), match.group("info").strip()
        body, j = [], i + 1
        while j < len(lines) and not (
            lines[j].strip().startswith(fence) and set(lines[j].strip()) == {fence[0]}
        ):
            body.append(lines[j])
            j += 1
        words = shlex.split(info) if info else []
        attrs = dict(w.split("=", 1) for w in words[1:] if "=" in w)
        code = "\n".join(body) + "\n" if body else ""
        blocks.append(Block(i + 1, words[0] if words else "", attrs, code))
        i = j + 1
    return blocks


def wanted(block: Block, backend: str, options: set[str]) -> bool:
    if "file" not in block.attrs:
        return False
    when = block.attrs.get("when")
    if not when:
        return True
    conditions = set(when.split(","))
    backends, opts = conditions & set(BACKENDS), conditions & set(OPTIONS)
    return (not backends or backend in backends) and (not opts or opts <= options)


def plan(
    backend: str, package: str, options: set[str], pool: dict[str, str], blocks: list[Block]
) -> dict[str, str]:
    """Relative path in the project -> content."""
    files: dict[str, str] = {}
    for block in blocks:
        if not wanted(block, backend, options):
            continue
        target = block.attrs["file"]
        if target.startswith("db/"):
            target = package + target[2:]
        content = block.code
        if target == ".env.example" and pool:
            lines = [f"DB_{k.upper()}={v}" for k, v in pool.items()]
            content = content.rstrip("\n") + "\n# Connection pool\n" + "\n".join(lines) + "\n"
        files[target] = content
    return files


def install_line(backend: str, options: set[str], blocks: list[Block]) -> str:
    """The packages to install, from the reference's install block."""
    install = next(b for b in blocks if b.lang == "bash" and "sqlalchemy" in b.code)
    base = shlex.split(install.code.splitlines()[0])[2:]
    if "fastapi" not in options:
        base = [p for p in base if p != "fastapi"]
    return "pip install " + " ".join(shlex.quote(p) for p in [*base, DRIVERS[backend]])


def missing_packages(line: str) -> list[str]:
    names = {"sqlalchemy": "sqlalchemy", "pydantic-settings": "pydantic_settings"}
    missing = []
    for requirement in shlex.split(line)[2:]:
        name = re.split(r"[\[<>=!~ ]", requirement, maxsplit=1)[0]
        module = names.get(name, name.replace("-", "_"))
        if importlib.util.find_spec(module) is None:
            missing.append(name)
    if "sqlalchemy" not in missing and importlib.util.find_spec("greenlet") is None:
        missing.append("greenlet (install sqlalchemy[asyncio])")
    return missing


def check_package_path(package: str) -> str:
    parts = Path(package).parts
    if not parts or Path(package).is_absolute() or ".." in parts:
        raise ScaffoldError(
            f"--package {package!r} must be a relative path inside the project, e.g. app/db"
        )
    bad = [p for p in parts if not p.isidentifier()]
    if bad:
        raise ScaffoldError(
            f"--package {package!r}: {bad[0]!r} is not a Python package name; use letters, "
            "digits and underscores (e.g. app/db)"
        )
    return Path(package).as_posix()


def writable(path: Path) -> bool:
    """Whether path could be created: its nearest existing ancestor is a writable folder."""
    for parent in path.parents:
        if parent.exists():
            return parent.is_dir() and os.access(parent, os.W_OK | os.X_OK)
    return False


def backup_name(path: Path) -> Path:
    candidate, n = path.with_name(path.name + ".bak"), 1
    while candidate.exists():
        candidate, n = path.with_name(f"{path.name}.bak{n}"), n + 1
    return candidate


def scaffold(args: argparse.Namespace) -> list[str]:
    project = Path(args.project).resolve()
    if not project.is_dir():
        raise ScaffoldError(f"--project {args.project}: no such folder")
    package = check_package_path(args.package)
    options = {o for o, on in (("fastapi", args.fastapi), ("uow", args.uow)) if on}
    pool = {
        k: str(v)
        for k, v in (
            ("pool_size", args.pool_size),
            ("max_overflow", args.max_overflow),
            ("pool_timeout", args.pool_timeout),
            ("pool_recycle", args.pool_recycle),
        )
        if v is not None
    }
    blocks = read_blocks(Path(args.source))
    files = plan(args.backend, package, options, pool, blocks)
    if args.env:
        files[".env"] = files[".env.example"]
    # The package's parent folders must be packages too, or `import app.db` fails.
    for depth in range(1, len(Path(package).parts)):
        init = Path(*Path(package).parts[:depth], "__init__.py").as_posix()
        if not (project / init).exists():
            files.setdefault(init, "")

    conflicts = [rel for rel in files if (project / rel).exists()]
    if args.env and ".env" in conflicts:
        conflicts.remove(".env")  # an existing .env is the user's: keep it, say so
        del files[".env"]
        print("kept your .env as it is; compare it with .env.example")
    not_files = [rel for rel in conflicts if not (project / rel).is_file()]
    if not_files:
        raise ScaffoldError(f"{not_files[0]} exists and is not a file; move it away first")
    if conflicts and not args.force:
        listed = "\n  ".join(sorted(conflicts))
        raise ScaffoldError(
            f"these files exist already and were left as they are:\n  {listed}\n"
            "choose another --package, or pass --force to replace them (each is kept as .bak)"
        )
    unwritable = sorted(rel for rel in files if not writable(project / rel))
    if unwritable:
        raise ScaffoldError(
            f"cannot write {unwritable[0]}: its folder is not writable; fix the permissions or "
            "choose another --project/--package"
        )

    written = []
    for rel, content in sorted(files.items()):
        path = project / rel
        if args.dry_run:
            written.append(f"would write {rel}")
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            backup = backup_name(path)
            path.replace(backup)
            written.append(f"replaced {rel} (old one kept as {backup.name})")
        else:
            written.append(f"wrote {rel}")
        path.write_text(content, encoding="utf-8")
    return written


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="scaffold_db.py",
        description="Write the async SQLAlchemy database layer into a FastAPI project.",
    )
    p.add_argument("backend", help="postgres, supabase, mysql or sqlite")
    p.add_argument("--project", default=".", help="the project folder (default: here)")
    p.add_argument("--package", default="db", help="where the package goes, e.g. app/db")
    p.add_argument(
        "--no-fastapi",
        dest="fastapi",
        action="store_false",
        help="leave out the FastAPI session dependency",
    )
    p.add_argument("--no-uow", dest="uow", action="store_false", help="leave out the Unit of Work")
    p.add_argument("--pool-size", type=positive_int)
    p.add_argument("--max-overflow", type=non_negative_int)
    p.add_argument("--pool-timeout", type=positive_int, help="seconds")
    p.add_argument("--pool-recycle", type=positive_int, help="seconds")
    p.add_argument("--env", action="store_true", help="also write .env when there is none")
    p.add_argument("--force", action="store_true", help="replace existing files (kept as .bak)")
    p.add_argument("--dry-run", action="store_true", help="show what would be written")
    p.add_argument("--source", default=str(SOURCE), help=argparse.SUPPRESS)
    return p


def positive_int(text: str) -> int:
    value = non_negative_int(text)
    if value == 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return value


def non_negative_int(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number")
    return int(text)


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.backend not in BACKENDS:
        print(
            f"scaffold_db.py: unknown backend {args.backend!r}; choose one of "
            f"{', '.join(BACKENDS)}",
            file=sys.stderr,
        )
        return 2
    try:
        written = scaffold(args)
    except ScaffoldError as exc:
        print(f"scaffold_db.py: {exc}", file=sys.stderr)
        return 1
    print("\n".join(written))
    options = {o for o, on in (("fastapi", args.fastapi), ("uow", args.uow)) if on}
    line = install_line(args.backend, options, read_blocks(Path(args.source)))
    print(f"\ninstall: {line}")
    missing = missing_packages(line)
    if missing:
        print(f"missing in this Python ({sys.executable}): {', '.join(missing)}")
    env_step = (
        "check the values in .env"
        if any(w.endswith(" .env") for w in written)
        else "copy .env.example to .env and fill it in"
    )
    print(f"next: {env_step}; call check_database() and dispose_engine() in your FastAPI lifespan")
    return 0


if __name__ == "__main__":
    sys.exit(main())
