"""The commands that can lose data, each read by its own options: Alembic (downgrade,
stamp, an upgrade that applies an uncommitted data-dropping revision), SQL clients (SQL
from -c/-e, files, stdin, includes), Python (code from -c, stdin, a script or a module),
drop and reset tools, removals of revisions, database files and data folders, git clean,
and container volumes."""

from __future__ import annotations

import os
import re
from pathlib import Path

from . import files, sql
from .evaluate import Context, judge_text

PYTHON = re.compile(r"^(python(\d(\.\d+)?)?|pypy3?|py)$")


def short(text: str, limit: int = 120) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def shown(words: list[str]) -> str:
    return short(" ".join(words))


# --- Alembic ---------------------------------------------------------------------------------


def judge_alembic(words: list[str], ctx: Context) -> str | None:
    args, config, section, i = [], None, "alembic", 0
    rest = words[1:]
    while i < len(rest):
        word = rest[i]
        if word in ("-c", "--config", "-n", "--name", "-x") and i + 1 < len(rest):
            if word in ("-c", "--config"):
                config = rest[i + 1]
            elif word in ("-n", "--name"):
                section = rest[i + 1]
            i += 2
            continue
        if word.startswith(("--config=", "--name=")):
            name, _, value = word.partition("=")
            config, section = (value, section) if name == "--config" else (config, value)
        else:
            args.append(word)
        i += 1
    if {"-h", "--help", "--sql"} & set(args):
        return None  # help, or offline mode: SQL is printed, no database is touched
    positional = [a for a in args if not a.startswith("-") or re.match(r"^-\d+$", a)]
    if not positional:
        return None
    sub = positional[0]
    if sub == "downgrade":
        target = positional[1] if len(positional) > 1 else "?"
        which = (
            f"the last {target[1:]}" if re.match(r"^-\d+$", target) else f"every one above {target}"
        )
        return (
            f"`alembic downgrade {target}` runs downgrade() of {which} revision(s): the "
            "tables and columns they added are dropped with their rows"
        )
    if sub == "stamp":
        return (
            "`alembic stamp` rewrites alembic_version without running migrations: later "
            "upgrades or downgrades then skip or repeat steps, which can lose data"
        )
    if sub == "upgrade":
        from .alembic_config import pending_drops

        config = config or ctx.env.get("ALEMBIC_CONFIG") or os.environ.get("ALEMBIC_CONFIG")
        dropping = pending_drops(ctx.cwd, config, section)
        if dropping:
            return (
                "`alembic upgrade` applies a revision that is not committed yet and drops "
                f"data: {'; '.join(dropping[:3])}"
            )
    return None


# --- SQL clients -----------------------------------------------------------------------------

INCLUDE = re.compile(
    r"^\s*(?:\\i|\\ir|\\include|\\include_relative|\\\.|source|\.read)\s+"
    r"['\"]?([^'\";\s]+)",
    re.IGNORECASE | re.MULTILINE,
)
SHELL_ESCAPE = re.compile(r"^\s*(?:\\!|\.shell|\.system|system)\s+(.+)$", re.MULTILINE)
PSQL_VALUED = {
    "-c",
    "--command",
    "-d",
    "--dbname",
    "-f",
    "--file",
    "-h",
    "--host",
    "-p",
    "--port",
    "-U",
    "--username",
    "-v",
    "--set",
    "--variable",
    "-o",
    "--output",
    "-L",
    "--log-file",
    "-P",
    "--pset",
    "-F",
    "--field-separator",
    "-R",
    "--record-separator",
    "-T",
    "--table-attr",
}
MYSQL_VALUED = {
    "-e",
    "--execute",
    "-u",
    "--user",
    "-h",
    "--host",
    "-P",
    "--port",
    "-D",
    "--database",
    "-S",
    "--socket",
    "--defaults-file",
    "--defaults-extra-file",
    "--init-command",
    "--default-character-set",
    "--login-path",
    "-T",
    "--tee",
}
SQLITE_VALUED = {
    "-cmd",
    "-init",
    "-separator",
    "-newline",
    "-nullvalue",
    "-mmap",
    "-vfs",
    "-maxsize",
    "-pagecache",
    "-lookaside",
    "-heap",
    "-escape",
}


def judge_sql_client(words: list[str], ctx: Context) -> str | None:
    program = Path(words[0]).name
    texts: list[str | None] = []
    reads_stdin = True
    args = words[1:]
    if program in ("sqlite3", "litecli", "duckdb"):
        if "-readonly" in args or "--readonly" in args:
            return None
        positional, i = [], 0
        while i < len(args):
            word = args[i]
            if word in SQLITE_VALUED or word in ("--cmd", "--init"):
                if word.lstrip("-") == "cmd" and i + 1 < len(args):
                    texts.append(args[i + 1])
                if word.lstrip("-") == "init" and i + 1 < len(args):
                    texts.append(ctx.read(args[i + 1]))
                i += 2
                continue
            if not word.startswith("-"):
                positional.append(word)
            i += 1
        if len(positional) > 1:
            texts.extend(positional[1:])
            reads_stdin = False
    else:
        commands = {"-c", "--command"} if program in ("psql", "pgcli") else {"-e", "--execute"}
        file_options = {"-f", "--file"} if program in ("psql", "pgcli") else set()
        valued = PSQL_VALUED if program in ("psql", "pgcli") else MYSQL_VALUED
        i = 0
        while i < len(args):
            word = args[i]
            name, equals, value = word.partition("=")
            if equals and name.startswith("--"):
                word, given = name, value
            elif word in valued and i + 1 < len(args):
                given = args[i + 1]
                i += 1
            elif word[:2] in valued and len(word) > 2 and not word.startswith("--"):
                word, given = word[:2], word[2:]
            else:
                i += 1
                continue
            if word in commands or word == "--init-command":
                texts.append(given)
                reads_stdin = False
            elif word in file_options:
                texts.append(ctx.stdin if given == "-" else ctx.read(given))
                reads_stdin = False
            i += 1
    if reads_stdin:
        texts.append(ctx.stdin)
    for text in texts:
        reason = sql_reason(text, ctx, words, 0)
        if reason:
            return reason
    return None


def sql_reason(text: str | None, ctx: Context, words: list[str], depth: int) -> str | None:
    if not text or depth > 5:
        return None
    found = sql.data_loss(INCLUDE.sub("", text))
    if found:
        return f"`{shown(words)}` runs `{short(found, 80)}`: rows or columns are lost for good"
    for match in SHELL_ESCAPE.finditer(text):
        reason = judge_text(match.group(1), ctx.deeper())
        if reason:
            return reason
    for match in INCLUDE.finditer(text):
        reason = sql_reason(ctx.read(match.group(1)), ctx, words, depth + 1)
        if reason:
            return reason
    return None


# --- Python ------------------------------------------------------------------------------------

PYTHON_VALUED = {"-X", "-W", "--check-hash-based-pycs"}
HARMLESS_MODULES = {
    "pip",
    "pytest",
    "uvicorn",
    "http.server",
    "venv",
    "ensurepip",
    "json.tool",
    "mypy",
    "ruff",
    "black",
    "isort",
    "pydoc",
    "timeit",
    "compileall",
    "build",
    "twine",
    "fastapi",
    "gunicorn",
    "coverage",
    "unittest",
    "hypercorn",
}


def judge_python(words: list[str], ctx: Context):
    args, i = words[1:], 0
    while i < len(args):
        word = args[i]
        if word == "-c":
            return python_reason(args[i + 1] if i + 1 < len(args) else "", words, ctx)
        if word == "-m" or (word.startswith("-m") and len(word) > 2 and not word.startswith("--")):
            module = word[2:] or (args[i + 1] if i + 1 < len(args) else "")
            rest = args[i + 2 :] if word == "-m" else args[i + 1 :]
            return judge_module(module, rest, words, ctx)
        if word in PYTHON_VALUED:
            i += 2
            continue
        if word == "-" or not word.startswith("-"):
            break
        i += 1
    if i < len(args) and args[i] != "-":
        return python_reason(ctx.read(args[i]), words, ctx)
    return python_reason(ctx.stdin, words, ctx)


def judge_module(module: str, rest: list[str], words: list[str], ctx: Context):
    if module == "alembic":
        return ["alembic", *rest], ctx
    if module in HARMLESS_MODULES or not module:
        return None
    parts = module.split(".")
    for root in (ctx.cwd, ctx.cwd / "src"):
        for candidate in (
            root.joinpath(*parts).with_suffix(".py"),
            root.joinpath(*parts, "__main__.py"),
        ):
            text = ctx.read(str(candidate))
            if text is not None:
                return python_reason(text, words, ctx)
    return None


def python_reason(code: str | None, words: list[str], ctx: Context) -> str | None:
    if not code:
        return None
    from . import pycode
    from .wrappers import judge_words

    def judge_command(command) -> str | None:
        if isinstance(command, list):
            return judge_words(command, ctx.deeper(stdin=None))
        return judge_text(command, ctx.deeper(stdin=None))

    found = pycode.data_loss(code, judge_command)
    if found:
        return f"`{shown(words)}`: {found}"
    return None


# --- drop and reset tools ------------------------------------------------------------------------

# program: {subcommand words: what is lost}; "" matches the program alone.
TOOLS = {
    "dropdb": {"": "drops a whole database and every row in it"},
    "mysqladmin": {"drop": "drops a whole database and every row in it"},
    "pg_dropcluster": {"": "removes a PostgreSQL cluster and its data folder"},
    "supabase": {
        "db reset": "recreates the local database: every row is lost",
        "stop --no-backup": "stops the local stack and deletes its data volumes",
    },
    "prisma": {
        "migrate reset": "drops the database and applies the migrations again",
        "db push --force-reset": "drops the database before pushing the schema",
        "db push --accept-data-loss": "pushes a schema change that drops data",
    },
    "dbmate": {
        "drop": "drops the database",
        "rollback": "runs a down migration",
        "down": "runs a down migration",
    },
    "sqlx": {
        "database drop": "drops the database",
        "database reset": "drops the database",
        "migrate revert": "runs a down migration",
    },
    "atlas": {"schema clean": "drops every object in the schema"},
    "yoyo": {"rollback": "runs down migrations"},
    "aerich": {"downgrade": "runs a down migration"},
    "goose": {"down": "runs a down migration", "reset": "runs every down migration"},
    "flyway": {"clean": "drops every object in the schemas"},
    "piccolo": {"migrations backwards": "runs down migrations"},
    "pg_restore": {
        "--clean": "drops each object before restoring it",
        "-c": "drops each object before restoring it",
    },
}


def judge_tool(words: list[str], ctx: Context) -> str | None:
    program = Path(words[0]).name
    args = words[1:]
    if {"-h", "--help", "-V", "--version"} & set(args):
        return None
    if program == "pg_restore":
        if any(w in ("-l", "--list") for w in args):
            return None
        if ("-f" in args or any(w.startswith("--file") for w in args)) and not any(
            w.startswith(("-d", "--dbname")) for w in args
        ):
            return None  # writes a script, touches no database
        flags = {w for w in args if w.startswith("-")}
        short_flags = {c for w in flags if not w.startswith("--") for c in w[1:]}
        if "--clean" in flags or "c" in short_flags:
            return f"`{shown(words)}` {TOOLS['pg_restore']['--clean']}"
        return None
    plain_args = " ".join(
        a
        for a in args
        if not a.startswith("-") or a in ("--no-backup", "--force-reset", "--accept-data-loss")
    )
    for key, what in TOOLS.get(program, {}).items():
        if (
            key == ""
            or f" {plain_args} ".find(f" {key} ") >= 0
            or (key.startswith("-") and key in args)
        ):
            return f"`{shown(words)}` {what}"
    return None


# --- files -------------------------------------------------------------------------------------


def judge_removal(words: list[str], ctx: Context) -> str | None:
    program = Path(words[0]).name
    args = words[1:]
    if program == "git":
        return judge_git(words, ctx)
    if program == "find":
        return judge_find(words, ctx)
    if program == "truncate":
        targets = [a for a in args if not a.startswith("-") and not a.isdigit()]
    else:
        targets = [a for a in args if not a.startswith("-") or a == "-"]
        if "--" in args:
            targets = args[args.index("--") + 1 :]
    for target in targets:
        found = files.losing(target, ctx.cwd)
        if found:
            return f"`{shown(words)}` {found}"
    return None


def judge_find(words: list[str], ctx: Context) -> str | None:
    args = words[1:]
    if "-delete" not in args and not ("-exec" in args and "rm" in args):
        return None
    roots = []
    for word in args:
        if word.startswith(("-", "(", "!", ")")):
            break
        roots.append(word)
    names = [args[i + 1] for i, w in enumerate(args[:-1]) if w in ("-name", "-iname", "-path")]
    for root in roots or ["."]:
        found = files.losing(root, ctx.cwd, names)
        if found:
            return f"`{shown(words)}` {found}"
    return None


def judge_git(words: list[str], ctx: Context) -> str | None:
    args, cwd = words[1:], ctx.cwd
    while args and args[0].startswith("-"):
        if args[0] == "-C" and len(args) > 1:
            cwd = ctx.path(args[1])
            args = args[2:]
        elif args[0] in ("-c", "--git-dir", "--work-tree") and len(args) > 1:
            args = args[2:]
        else:
            args = args[1:]
    if not args:
        return None
    if args[0] == "rm" and "--cached" not in args:
        return judge_removal(["rm", *args[1:]], ctx.but(cwd=cwd))
    if args[0] == "clean":
        return files.git_clean(args[1:], cwd, shown(words))
    return None


# --- containers --------------------------------------------------------------------------------


def flags(args: list[str]) -> set[str]:
    found = set()
    for word in args:
        if word.startswith("--"):
            found.add(word.split("=", 1)[0])
        elif word.startswith("-"):
            found.update("-" + c for c in word[1:])
    return found


def judge_docker(program: str, sub: str, args: list[str]) -> str | None:
    given = flags(args)
    what = f"`{program} {sub} {' '.join(args)}`".replace("  ", " ")
    if sub == "volume" and args[:1] and args[0] in ("rm", "remove", "prune"):
        return f"{short(what)} deletes Docker volumes: a database's data lives in one"
    if sub == "system" and args[:1] == ["prune"] and "--volumes" in given:
        return f"{short(what)} deletes unused volumes: a database's data lives in one"
    if sub == "rm" and ("-v" in given or "--volumes" in given):
        return f"{short(what)} deletes the container's anonymous volumes (a database's data)"
    return None


def judge_compose(sub: str, args: list[str]) -> str | None:
    given = flags(args)
    if sub == "down" and ("-v" in given or "--volumes" in given):
        return (
            f"`docker compose down {' '.join(args)}` deletes the project's volumes: the "
            "database's data goes with them"
        )
    if sub == "rm" and ("-v" in given or "--volumes" in given):
        return f"`docker compose rm {' '.join(args)}` deletes anonymous volumes (database data)"
    return None


def judge_kubectl(words: list[str]) -> str | None:
    args = [w for w in words[1:] if not w.startswith("-")]
    if args[:1] == ["delete"] and len(args) > 1:
        kind = args[1].split("/")[0].lower()
        if kind in (
            "pvc",
            "persistentvolumeclaim",
            "persistentvolumeclaims",
            "pv",
            "persistentvolume",
            "persistentvolumes",
        ):
            return f"`{shown(words)}` deletes a persistent volume: a database's data lives there"
    return None


CORES = {
    "alembic": judge_alembic,
    "psql": judge_sql_client,
    "pgcli": judge_sql_client,
    "mysql": judge_sql_client,
    "mariadb": judge_sql_client,
    "mycli": judge_sql_client,
    "sqlite3": judge_sql_client,
    "litecli": judge_sql_client,
    "duckdb": judge_sql_client,
    "rm": judge_removal,
    "unlink": judge_removal,
    "shred": judge_removal,
    "trash": judge_removal,
    "trash-put": judge_removal,
    "truncate": judge_removal,
    "find": judge_removal,
    "git": judge_removal,
    **{program: judge_tool for program in TOOLS},
}
