#!/usr/bin/env python3
"""Write the async database layer into a project.

    python scaffold_db.py BACKEND [--project DIR] [--package app/db] [--python PATH]
                                  [--no-fastapi] [--no-uow] [--no-migrations] [--replicas]
                                  [--pool-size N] [--max-overflow N] [--pool-timeout S]
                                  [--pool-recycle S] [--env] [--env-add-missing]
                                  [--force] [--dry-run] [--check]
       python scaffold_db.py --contract

BACKEND is postgres, supabase, mysql or sqlite. First a preflight (preflight.py) checks the
project's own interpreter against the version contract (contract.json): when anything is
below it, nothing is written and the message gives the command that fixes it, in the
project's own tool. The files are the code blocks of
skills/async-db-layer/references/db-package.md, the same blocks the plugin's tests run, so
the code written here is the code that was tested. Nothing that exists is overwritten unless
--force is given, and then the old file is kept as FILE.bak first; an existing .env.example
is extended, never replaced, and an existing .env is only ever added to
(--env-add-missing), never changed.

Standard library only: it runs on any Python 3.8+ and checks the project's own.
"""

from __future__ import annotations
import __future__

import argparse
import os
import re
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # preflight.py, even under -I
import layout  # noqa: E402
import preflight  # noqa: E402

SOURCE = Path(__file__).resolve().parent.parent / "references" / "db-package.md"
BACKENDS = ("postgres", "supabase", "mysql", "sqlite")
OPTIONS = ("fastapi", "uow", "sqlmodel", "replicas")
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


def plan(backend: str, package: str, options: set[str], blocks: list[Block]) -> dict[str, str]:
    """Relative path in the project -> content, for the package's own files."""
    files: dict[str, str] = {}
    for block in blocks:
        if not wanted(block, backend, options) or not block.attrs["file"].startswith("db/"):
            continue
        files[package + block.attrs["file"][2:]] = block.code
    return files


def example_env(backend: str, pool: dict[str, str], blocks: list[Block]) -> str:
    """The backend's .env.example from the reference, with the pool options asked for."""
    block = next(
        b for b in blocks if b.attrs.get("file") == ".env.example" and wanted(b, backend, set())
    )
    lines = [f"DB_{k.upper()}={v}" for k, v in pool.items()]
    pool_part = "# Connection pool\n" + "\n".join(lines) + "\n" if lines else ""
    return block.code + pool_part


def second_database(files: dict[str, str], example: str, package: str, prefix: str) -> str:
    """A second database: the layer's names.py reads `prefix` and nothing of the project's
    own settings; the .env.example lines are named the same way. Returns the new example."""
    names = package + "/configuration/names.py"
    code = files[names]
    for old, new in (
        ('PREFIX = "DB_"', f'PREFIX = "{prefix}"'),
        ("SHARED = True", "SHARED = False"),
    ):
        if old not in code:
            raise ScaffoldError(f"{SOURCE.name}: names.py no longer has `{old}`; report this")
        code = code.replace(old, new, 1)
    files[names] = code
    example = re.sub(
        r"(?m)^(#\s*)?DATABASE_URL=", lambda m: f"{m.group(1) or ''}{prefix}URL=", example
    )
    return re.sub(
        r"(?m)^(#\s*)?DB_(\w+)=", lambda m: f"{m.group(1) or ''}{prefix}{m.group(2)}=", example
    )


PREFIX_FORM = re.compile(r"^[A-Z][A-Z0-9]*_$")


# --- .env and .env.example: extend, never replace -----------------------------------------

ENV_KEY = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=")
SECTION = "# --- database: read by the db/ layer (fastapi-async-db) ---"
CONNECTION = ("DB_HOST", "DB_PORT", "DB_NAME", "DB_USER", "DB_PASSWORD")


def env_keys(text: str) -> set[str]:
    return {m.group(1) for m in map(ENV_KEY.match, text.splitlines()) if m}


def reused_settings(keys: set[str], backend: str, shared: bool = True) -> list[str]:
    """Settings the project already has that the layer reads as they are (none for a second
    database, which reads only its own prefix)."""
    if not shared:
        return []
    found = [k for k in ("DATABASE_URL", "DB_URL") if k in keys]
    if backend in ("postgres", "supabase") and "POSTGRES_SERVER" in keys:
        found.append("POSTGRES_*")
    return found


def missing_lines(example: str, have: set[str], backend: str, shared: bool = True) -> list[str]:
    """The lines of `example` whose keys `have` lacks, each with the comments above it. Where
    the project's own DATABASE_URL or POSTGRES_* settings are read, no DB_* connection line is
    added: a placeholder there would win over the real value."""
    skip = set(have)
    if reused_settings(have, backend, shared):
        skip |= set(CONNECTION) | ({"DB_TYPE"} if backend != "supabase" else set())
    out: list[str] = []
    comments: list[str] = []
    for line in example.splitlines():
        key = ENV_KEY.match(line)
        if key is None:
            comments.append(line)
            continue
        if key.group(1) not in skip:
            out += [*comments, line]
        comments = []
    if out and comments and "DATABASE_URL" not in skip:  # the closing "or one URL" hint
        out += comments
    return out


def project_env_files(project: Path, package: str, blocks: list[Block]) -> list[Path]:
    """The .env files the scaffolded layer will read: the package's own env_files() rule,
    taken from the same block that is written into the project."""
    block = next(b for b in blocks if b.attrs.get("file") == "db/configuration/env_files.py")
    namespace: dict = {"__name__": "env_files_from_reference"}
    flags = __future__.annotations.compiler_flag  # its `Path | None` on Pythons before 3.10
    exec(compile(block.code, str(SOURCE), "exec", flags, dont_inherit=True), namespace)
    start = project / package / "configuration" / "env_files.py"
    return list(namespace["env_files"](start))


def plan_env(
    args: argparse.Namespace, project: Path, package: str, example: str, blocks: list[Block]
) -> tuple[dict[str, str], dict[str, str], list[str]]:
    """(files to create, files to append to, what to tell the user)."""
    create: dict[str, str] = {}
    append: dict[str, str] = {}
    said: list[str] = []
    envs = [f for f in project_env_files(project, package, blocks) if f.is_file()]
    env_keys_found = set().union(*(env_keys(f.read_text(errors="replace")) for f in envs))
    target = project / ".env.example"
    old_example = target.read_text(errors="replace") if target.is_file() else None
    have = env_keys(old_example or "") | env_keys_found
    shared = not args.env_prefix
    reused = reused_settings(have, args.backend, shared)
    if reused:
        said.append(
            f"the layer reads your {' and '.join(reused)} settings as they are; no secret is "
            "copied into DB_* variables"
        )
    lines = missing_lines(
        example, env_keys(old_example or "") | env_keys_found, args.backend, shared
    )
    if old_example is None:
        fresh = missing_lines(example, env_keys_found, args.backend, shared)
        if any(ENV_KEY.match(ln) for ln in fresh):
            create[".env.example"] = "\n".join(fresh) + "\n"
    elif any(ENV_KEY.match(ln) for ln in lines):
        append[".env.example"] = "\n".join([SECTION, *lines]) + "\n"
    else:
        said.append(".env.example already has every setting the layer reads; left as it is")

    if not envs:
        if args.env:
            create[".env"] = create.get(".env.example") or example
        else:
            said.append(
                "no .env found for the layer: create one from the database section of "
                ".env.example (or run again with --env)"
            )
        return create, append, said
    nearest = envs[-1]
    shown = os.path.relpath(nearest, project)
    lacking = missing_lines(example, env_keys_found, args.backend, shared)
    lacking_keys = [m.group(1) for m in map(ENV_KEY.match, lacking) if m]
    if not lacking_keys:
        said.append(f"{shown}: kept as it is; it has what the layer reads")
    elif args.env_add_missing:
        append[shown] = "\n".join([SECTION, *lacking]) + "\n"
        said.append(f"{shown}: adding {', '.join(lacking_keys)}; no line there is changed")
    else:
        said.append(
            f"{shown}: kept as it is; it lacks {', '.join(lacking_keys)}. Add those lines to "
            "it by hand from .env.example, or run again with --env-add-missing (it only adds)"
        )
    return create, append, said


# --- where the package goes ---------------------------------------------------------------

RUN_HERE = ("pyproject.toml", "setup.py", "setup.cfg", "pytest.ini", "tox.ini", "conftest.py")


def import_root(project: Path, package: str) -> Path:
    """Where the package is imported from when the project says nothing (layout.py reads
    its start commands and tests first): below a `src/` that is not itself a package; else
    the first folder up from the package that is not itself a package (no __init__.py) and
    that the project runs code from (a pyproject.toml, pytest configuration or conftest.py
    there); else the project."""
    parts = Path(package).parts
    if "src" in parts[:-1]:
        last = len(parts) - 2 - parts[-2::-1].index("src")
        src = project.joinpath(*parts[: last + 1])
        if not (src / "__init__.py").is_file():
            return src
    folder = (project / package).parent
    while folder != project and folder != folder.parent:
        if not (folder / "__init__.py").exists() and any((folder / m).exists() for m in RUN_HERE):
            break
        folder = folder.parent
    return folder


def module_name(project: Path, package: str) -> tuple[str, Path, str]:
    """(the dotted name the package is imported by, the folder it is imported from, how that
    was found)."""
    root = layout.import_root(project, package, import_root(project, package))
    name = ".".join((project / package).resolve().relative_to(root.folder.resolve()).parts)
    return name, root.folder, root.why


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


def existing_database(args: argparse.Namespace, project: Path, package: str) -> list[str]:
    """Which case this is, said plainly: no database code yet, a second database beside the
    project's own (the layer then reads its own prefix, chosen here unless given), or the
    same database (two pools per worker: the layer's and the project's)."""
    if args.env_prefix and not PREFIX_FORM.match(args.env_prefix):
        raise ScaffoldError(
            f"--env-prefix {args.env_prefix!r}: use capitals, digits and a closing underscore, "
            "e.g. --env-prefix PG_"
        )
    family = "postgres" if args.backend in ("postgres", "supabase") else args.backend
    engines = layout.existing_engines(project, package)
    envs = layout.env_values(project)
    url = next((k for k in ("DATABASE_URL", "DB_URL") if k in envs), None)
    shared_url = layout.SCHEME.search(envs[url][0]) if url else None
    other = {e.backend for e in engines if e.backend and e.backend != family}
    if shared_url and layout.BACKEND_OF[shared_url.group(1)] != family:
        other.add(layout.BACKEND_OF[shared_url.group(1)])
    seen = "; ".join(f"{e.where} ({e.backend or 'database not told'}: {e.how})" for e in engines)
    if other and not args.env_prefix:
        args.env_prefix = layout.free_prefix(project, args.backend)
    if args.env_prefix:
        where = seen or f"{url} in {envs[url][1]}"
        return [
            f"database: a second database. The project's own database code ({where}) reaches "
            f"{', '.join(sorted(other)) or 'its own database'} and is left as it is, Alembic "
            f"included; the layer reaches {args.backend} and reads only {args.env_prefix}* "
            f"settings ({args.env_prefix}URL, or {args.env_prefix}HOST, {args.env_prefix}NAME, "
            "...), never the project's DATABASE_URL or POSTGRES_*. Its migrations, if wanted, "
            "get an Alembic set-up of their own."
        ]
    if not engines:
        return []
    same = [e for e in engines if e.backend == family]
    if not same:
        return [
            f"database: the project makes its own engines ({seen}) and their database could not "
            "be told from the code. If it is another database, run again with --env-prefix "
            f"{layout.free_prefix(project, args.backend)} so that the layer reads settings of "
            "its own; if it is the same one, each worker opens two pools (see below)."
        ]
    pools = layout.pool_settings(project)
    theirs = ", ".join(f"{n}={v} ({w})" for n, v, w in pools) or "SQLAlchemy's 5 + 10 unless set"
    size = next((v for n, v, _ in pools if n.endswith("POOL_SIZE")), None)
    hint = f"set DB_POOL_SIZE={size} and " if size else "size DB_POOL_SIZE and "
    return [
        f"database: the same database as the project's own engine ({seen}). Each worker now "
        f"opens two pools on it: the project's ({theirs}) and the layer's (DB_POOL_SIZE + "
        f"DB_MAX_OVERFLOW, 10 + 20 unless set). {hint}DB_MAX_OVERFLOW to what you want the "
        "layer to hold, and remove the project's engine once its code uses the layer."
    ]


def options_of(args: argparse.Namespace) -> set[str]:
    chosen = (("fastapi", args.fastapi), ("uow", args.uow), ("migrations", args.migrations))
    chosen += (("sqlmodel", args.sqlmodel is True), ("replicas", args.replicas))
    return {o for o, on in chosen if on}


def scaffold(args: argparse.Namespace) -> tuple[list[str], preflight.Report]:
    """Check, then write. Returns the lines to print and the preflight's report."""
    project = Path(args.project).resolve()
    if not project.is_dir():
        raise ScaffoldError(f"--project {args.project}: no such folder")
    package = check_package_path(args.package)
    name, root, why = module_name(project, package)
    hidden = layout.shadowed(project, package, root)
    if hidden:
        raise ScaffoldError(
            f"--package {package} would hide {hidden}: `{name}` would then import the new "
            f"package, and the project's own imports of {hidden} would break. Nothing was "
            f"written; choose a free name, e.g. --package {layout.free_name(project, package)}"
        )
    sqlmodel_at = layout.uses_sqlmodel(project, package)
    database = existing_database(args, project, package)
    if args.sqlmodel is None:
        args.sqlmodel = bool(sqlmodel_at)
    options = options_of(args)
    if "replicas" in options and args.backend not in ("postgres", "supabase"):
        raise ScaffoldError(
            f"--replicas: read replicas are for PostgreSQL (postgres, supabase), not "
            f"{args.backend}; nothing was written"
        )
    try:
        # SQLModel's sessions take the project's own sqlmodel as it is: no floor is asked
        needs = options - {"sqlmodel", "replicas"}  # replicas need nothing more
        report = preflight.preflight(
            project,
            project / package,
            args.backend,
            needs,
            args.python,
            ask_resolver=not args.no_resolve,
        )
    except preflight.PreflightError as exc:
        raise ScaffoldError(f"{exc}\nnothing was written") from None
    if report.blockers:
        raise ScaffoldError(
            "nothing was written: the project's Python does not meet the versions the layer "
            "needs.\n  "
            + "\n  ".join(preflight.describe(report, project) + report.blockers)
            + "\nfix it with:\n  "
            + "\n  ".join(report.fixes)
            + "\nthen run this command again."
        )
    if args.check:
        return preflight.describe(report, project), report
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
    files = plan(args.backend, package, options, blocks)
    example = example_env(args.backend, pool, blocks)
    if args.env_prefix:
        example = second_database(files, example, package, args.env_prefix)
    created, appended, said = plan_env(args, project, package, example, blocks)
    files.update(created)

    conflicts = [rel for rel in files if (project / rel).exists()]
    not_files = [rel for rel in [*conflicts, *appended] if not (project / rel).is_file()]
    if not_files:
        raise ScaffoldError(f"{not_files[0]} exists and is not a file; move it away first")
    if conflicts and not args.force:
        listed = "\n  ".join(sorted(conflicts))
        raise ScaffoldError(
            f"these files exist already and were left as they are:\n  {listed}\n"
            "nothing was written. Choose another --package, or pass --force to replace them "
            "(each is kept as .bak)"
        )
    targets = [*files, *appended]
    unwritable = sorted(rel for rel in targets if not writable(project / rel))
    if unwritable:
        raise ScaffoldError(
            f"cannot write {unwritable[0]}: its folder is not writable; fix the permissions or "
            "choose another --project/--package"
        )

    out = preflight.describe(report, project)
    if args.sqlmodel:
        reason = f"the project imports sqlmodel at {sqlmodel_at}" if sqlmodel_at else "--sqlmodel"
        out.append(
            f"sessions: SQLModel's AsyncSession ({reason}), so session.exec() works; "
            "DBSession and ReadSession are those"
        )
    verb = "would " if args.dry_run else ""
    for rel, content in sorted(files.items()):
        path = project / rel
        if args.dry_run:
            out.append(f"would write {rel}")
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            backup = backup_name(path)
            path.replace(backup)
            out.append(f"replaced {rel} (old one kept as {backup.name})")
        else:
            out.append(f"wrote {rel}")
        path.write_text(content, encoding="utf-8")
    for rel, content in sorted(appended.items()):
        if not args.dry_run:
            path = project / rel
            old = path.read_text(encoding="utf-8", errors="replace")
            with path.open("a", encoding="utf-8") as handle:
                handle.write(("\n" if old and not old.endswith("\n") else "") + "\n" + content)
        keys = ", ".join(sorted(env_keys(content)))
        out.append(f"{verb}add to {rel}: {keys} (nothing there is changed)")
    out += said + database
    where = os.path.relpath(root, project)
    shown = "the project root" if where == "." else where + "/"
    out.append(
        f"import it as: {name} (from {shown})" + (f"; as the project runs: {why}" if why else "")
    )
    return out, report


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="scaffold_db.py",
        description="Write the async SQLAlchemy database layer into a FastAPI project.",
    )
    p.add_argument("backend", nargs="?", help="postgres, supabase, mysql or sqlite")
    p.add_argument(
        "--contract",
        action="store_true",
        help="print the supported versions (the version contract) and exit",
    )
    p.add_argument("--project", default=".", help="the project folder (default: here)")
    p.add_argument("--package", default="db", help="where the package goes, e.g. app/db")
    p.add_argument(
        "--no-fastapi",
        dest="fastapi",
        action="store_false",
        help="leave out the FastAPI session dependency",
    )
    p.add_argument("--no-uow", dest="uow", action="store_false", help="leave out the Unit of Work")
    p.add_argument(
        "--sqlmodel",
        dest="sqlmodel",
        action="store_true",
        default=None,
        help="SQLModel's sessions (session.exec); the default where the project imports sqlmodel",
    )
    p.add_argument("--no-sqlmodel", dest="sqlmodel", action="store_false", help=argparse.SUPPRESS)
    p.add_argument(
        "--replicas",
        action="store_true",
        help="read replicas (PostgreSQL, Supabase): ReadSession reads from DB_REPLICA_URLS",
    )
    p.add_argument(
        "--no-migrations",
        dest="migrations",
        action="store_false",
        help="no Alembic: leave it out of the version check and the install line",
    )
    p.add_argument(
        "--python",
        metavar="PATH",
        help="the project's interpreter (default: its .venv, poetry's env, $VIRTUAL_ENV)",
    )
    p.add_argument(
        "--env-prefix",
        metavar="PREFIX_",
        help="a second database: the layer reads PREFIX_* settings and none of the project's "
        "(chosen for you when the project's own database code reaches another database)",
    )
    p.add_argument("--pool-size", type=positive_int)
    p.add_argument("--max-overflow", type=non_negative_int)
    p.add_argument("--pool-timeout", type=positive_int, help="seconds")
    p.add_argument("--pool-recycle", type=positive_int, help="seconds")
    p.add_argument("--env", action="store_true", help="also write .env when there is none")
    p.add_argument(
        "--env-add-missing",
        action="store_true",
        help="add the settings an existing .env lacks (it only adds; no line is changed)",
    )
    p.add_argument("--force", action="store_true", help="replace existing files (kept as .bak)")
    p.add_argument("--dry-run", action="store_true", help="show what would be written")
    p.add_argument(
        "--check",
        action="store_true",
        help="only the version check of the project's interpreter; plan and write nothing",
    )
    p.add_argument(
        "--no-resolve",
        action="store_true",
        help="do not ask the project's resolver (uv, poetry, pip --dry-run) about the lines",
    )
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
    if args.contract:
        print(preflight.contract_table(), end="")
        return 0
    if args.backend not in BACKENDS:
        given = f"unknown backend {args.backend!r}" if args.backend else "no backend given"
        print(
            f"scaffold_db.py: {given}; choose one of {', '.join(BACKENDS)}",
            file=sys.stderr,
        )
        return 2
    try:
        lines, report = scaffold(args)
    except ScaffoldError as exc:
        print(f"scaffold_db.py: {exc}", file=sys.stderr)
        return 1
    print("\n".join(lines))
    print(f"\ninstall: {report.install}")
    line = report.install_line
    if line is not None:
        for edit in line.edits:
            print(f"  then change {edit}")
        for reason in line.reasons:
            print(f"  ({reason})")
        print(f"  ({line.verdict})")
    missing = [n for n in report.needs if not report.installed.get(n)]
    if report.installed.get("sqlalchemy") and not report.installed.get("greenlet"):
        missing.append("greenlet (from sqlalchemy[asyncio])")
    if missing:
        print(f"not installed yet in {report.python}: {', '.join(missing)}")
    if not args.check:
        print("next: call check_database() and dispose_engine() in your FastAPI lifespan")
    return 0


if __name__ == "__main__":
    sys.exit(main())
