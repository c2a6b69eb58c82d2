"""What a command line really runs: wrappers are taken off one after the other (variables,
env, sudo, timeout, nice, uv/poetry/pdm/hatch/pipenv run, python -m, bash -c, docker and
compose exec/run, kubectl exec --, ssh, xargs, make and npm targets, ...) until a core is
left (cores.py). A program we do not know is read generically: the command after its `--`,
or the first database tool among its words."""

from __future__ import annotations

import json
from pathlib import Path

from . import cores
from .evaluate import Context, judge_text


def judge_words(words: list[str], ctx: Context) -> str | None:
    for _ in range(64):
        if not words:
            return None
        program = Path(words[0]).name
        if cores.PYTHON.match(program):
            handler = python
        else:
            handler = HANDLERS.get(program) or cores.CORES.get(program) or generic
        result = handler(words, ctx)
        if isinstance(result, tuple):  # (inner words, context): unwrap once more
            words, ctx = result
            continue
        return result
    return None


def unwrap(words: list[str], ctx: Context) -> tuple[list[str], Context]:
    """The command left when the wrappers are taken off (for what it writes to a pipe)."""
    for _ in range(64):
        if not words:
            break
        handler = HANDLERS.get(Path(words[0]).name)
        if handler is None or handler in (make, just, package_script, shell_program):
            break
        result = handler(words, ctx)
        if not isinstance(result, tuple):
            break
        words, ctx = result
    return words, ctx


# --- option reading -----------------------------------------------------------------------


def after_options(args: list[str], valued: set[str], stop_at_first: bool = True):
    """(options {name: value}, the rest): options before the first plain word; `valued`
    options take the next word unless written --opt=value; `--` ends them."""
    options: dict[str, str] = {}
    i = 0
    while i < len(args):
        word = args[i]
        if word == "--":
            return options, args[i + 1 :]
        if not word.startswith("-") or word == "-":
            return options, args[i:]
        name, equals, value = word.partition("=")
        if equals and name.startswith("--"):
            options[name] = value
        elif word in valued:
            options[word] = args[i + 1] if i + 1 < len(args) else ""
            i += 1
        elif not word.startswith("--") and len(word) > 2 and word[:2] in valued:
            options[word[:2]] = word[2:]  # -n10, -oL
        else:
            options[word] = ""
        i += 1
    return options, []


def option(options: dict, *names: str) -> str | None:
    for name in names:
        if name in options:
            return options[name]
    return None


def plain(valued: set[str]):
    """A wrapper whose options come first, then the command: `nice -n 5 cmd`."""

    def unwrap(words: list[str], ctx: Context):
        _, rest = after_options(words[1:], valued)
        return rest, ctx

    return unwrap


# --- wrappers -------------------------------------------------------------------------------


def env(words: list[str], ctx: Context):
    args, variables, cwd = words[1:], dict(ctx.env), ctx.cwd
    while args:
        word = args[0]
        if word in ("-u", "--unset", "-C", "--chdir", "-S", "--split-string") and len(args) > 1:
            if word in ("-C", "--chdir"):
                cwd = ctx.path(args[1])
            if word in ("-S", "--split-string"):
                args = args[1].split() + args[2:]
                continue
            args = args[2:]
        elif word.startswith("--chdir="):
            cwd, args = ctx.path(word.split("=", 1)[1]), args[1:]
        elif word == "--":
            args = args[1:]
            break
        elif word.startswith("-"):
            args = args[1:]
        elif "=" in word:
            name, _, value = word.partition("=")
            variables[name] = value
            args = args[1:]
        else:
            break
    return args, ctx.but(env=variables, cwd=cwd)


def sudo(words: list[str], ctx: Context):
    valued = {
        "-u",
        "-g",
        "-C",
        "-D",
        "-h",
        "-p",
        "-U",
        "-r",
        "-t",
        "-T",
        "-R",
        "--user",
        "--group",
        "--chdir",
        "--host",
        "--prompt",
        "--other-user",
        "--role",
        "--type",
    }
    options, rest = after_options(words[1:], valued)
    chdir = option(options, "-D", "--chdir")
    return rest, ctx.but(cwd=ctx.path(chdir)) if chdir else ctx


def su(words: list[str], ctx: Context):
    """su [-] [user] -c 'command', runuser -u user -- command."""
    args = words[1:]
    for index, word in enumerate(args):
        if word in ("-c", "--command") and index + 1 < len(args):
            return judge_text(args[index + 1], ctx.deeper())
        if word.startswith("--command="):
            return judge_text(word.split("=", 1)[1], ctx.deeper())
        if word == "--":
            return args[index + 1 :], ctx
    return None


def timeout(words: list[str], ctx: Context):
    _, rest = after_options(words[1:], {"-s", "--signal", "-k", "--kill-after"})
    return rest[1:], ctx  # the duration, then the command


def flock(words: list[str], ctx: Context):
    options, rest = after_options(words[1:], {"-w", "--timeout", "-E", "--conflict-exit-code"})
    rest = rest[1:]  # the lock file
    if rest[:1] in (["-c"], ["--command"]) and len(rest) > 1:
        return judge_text(rest[1], ctx.deeper())
    return rest, ctx


def xargs(words: list[str], ctx: Context):
    valued = {
        "-I",
        "-i",
        "-d",
        "-n",
        "-P",
        "-L",
        "-s",
        "-a",
        "-E",
        "--delimiter",
        "--max-args",
        "--max-procs",
        "--arg-file",
        "--replace",
    }
    _, rest = after_options(words[1:], valued)
    rest = rest or ["echo"]
    if ctx.stdin:
        rest = rest + ctx.stdin.split()
    return rest, ctx.but(stdin=None)


def watch(words: list[str], ctx: Context):
    _, rest = after_options(words[1:], {"-n", "--interval", "-d", "--differences"})
    return judge_text(" ".join(rest), ctx.deeper())


def runner(valued: set[str], subcommands: set[str], chdir: tuple[str, ...] = ()):
    """`tool [global options] run [options] command`: uv, poetry, pdm, pipenv, rye, hatch,
    pixi, conda, coverage."""

    def unwrap(words: list[str], ctx: Context):
        options, rest = after_options(words[1:], valued)
        folder = option(options, *chdir)
        if not rest or rest[0] not in subcommands:
            return None
        options2, inner = after_options(rest[1:], valued)
        folder = option(options2, *chdir) or folder
        here = ctx.but(cwd=ctx.path(folder)) if folder else ctx
        if inner and ":" in inner[0] and Path(words[0]).name == "hatch":
            inner = [inner[0].split(":", 1)[1], *inner[1:]]  # hatch run env:command
        if inner and inner[0].endswith(".py"):
            inner = ["python", *inner]
        if "--script" in options2 or "-m" in options2:
            inner = ["python", "-m" if "-m" in options2 else "", *inner]
            inner = [w for w in inner if w]
        return inner, here

    return unwrap


UV_VALUED = {
    "--with",
    "--with-requirements",
    "--with-editable",
    "--python",
    "-p",
    "--directory",
    "--project",
    "--package",
    "--extra",
    "--group",
    "--only-group",
    "--no-group",
    "--env-file",
    "--index",
    "--default-index",
    "--index-url",
    "--extra-index-url",
    "--find-links",
    "-f",
    "--upgrade-package",
    "-P",
    "--config-file",
    "--cache-dir",
    "--color",
    "--exclude-newer",
    "--resolution",
    "--prerelease",
    "--from",
    "-C",
    "--config-setting",
    "--link-mode",
    "--index-strategy",
    "-n",
    "--name",
    "--environment",
    "-e",
    "--prefix",
    "--spec",
    "--include-deps",
}


def uvx(words: list[str], ctx: Context):
    _, rest = after_options(words[1:], UV_VALUED)
    return rest, ctx


def npx(words: list[str], ctx: Context):
    _, rest = after_options(words[1:], {"-p", "--package", "-c", "--call"})
    if rest[:1] == ["exec"]:
        rest = rest[1:]
    return rest, ctx


def shell_program(words: list[str], ctx: Context):
    """bash/sh/zsh -c 'command', bash script.sh, bash -s < script, source script."""
    args = words[1:]
    if Path(words[0]).name in ("source", "."):
        text = ctx.read(args[0]) if args else None
        return judge_text(text, ctx.deeper()) if text else None
    i = 0
    while i < len(args):
        word = args[i]
        if word == "-o" or word == "+o":
            i += 2
            continue
        if word.startswith("-") and not word.startswith("--") and "c" in word[1:]:
            return judge_text(args[i + 1], ctx.deeper()) if i + 1 < len(args) else None
        if word == "--":
            i += 1
            break
        if not word.startswith(("-", "+")):
            break
        i += 1
    if i < len(args):
        text = ctx.read(args[i])
        return judge_text(text, ctx.deeper()) if text else None
    return judge_text(ctx.stdin, ctx.deeper(stdin=None)) if ctx.stdin else None


def evaluate(words: list[str], ctx: Context):
    return judge_text(" ".join(words[1:]), ctx.deeper())


def ssh(words: list[str], ctx: Context):
    valued = {
        "-p",
        "-i",
        "-l",
        "-o",
        "-F",
        "-J",
        "-L",
        "-R",
        "-D",
        "-b",
        "-c",
        "-E",
        "-e",
        "-m",
        "-O",
        "-Q",
        "-S",
        "-W",
        "-w",
        "-B",
    }
    _, rest = after_options(words[1:], valued)
    if len(rest) < 2:
        return None
    return judge_text(" ".join(rest[1:]), ctx.deeper(cwd=Path("/nonexistent-remote")))


def python(words: list[str], ctx: Context):
    from .cores import judge_python

    return judge_python(words, ctx)


# --- containers -------------------------------------------------------------------------------

DOCKER_GLOBAL = {"-H", "--host", "--context", "-c", "--config", "-l", "--log-level"}
EXEC_VALUED = {
    "-e",
    "--env",
    "--env-file",
    "-u",
    "--user",
    "-w",
    "--workdir",
    "--detach-keys",
    "--index",
}
RUN_VALUED = EXEC_VALUED | {
    "-a",
    "-c",
    "-h",
    "-l",
    "-m",
    "-p",
    "-v",
    "--add-host",
    "--annotation",
    "--attach",
    "--blkio-weight",
    "--cap-add",
    "--cap-drop",
    "--cgroup-parent",
    "--cgroupns",
    "--cidfile",
    "--cpu-period",
    "--cpu-quota",
    "--cpu-shares",
    "--cpus",
    "--cpuset-cpus",
    "--cpuset-mems",
    "--device",
    "--dns",
    "--dns-option",
    "--dns-search",
    "--domainname",
    "--entrypoint",
    "--expose",
    "--gpus",
    "--group-add",
    "--health-cmd",
    "--health-interval",
    "--health-retries",
    "--health-timeout",
    "--hostname",
    "--ip",
    "--ip6",
    "--ipc",
    "--label",
    "--label-file",
    "--link",
    "--log-driver",
    "--log-opt",
    "--mac-address",
    "--memory",
    "--memory-reservation",
    "--memory-swap",
    "--mount",
    "--name",
    "--network",
    "--net",
    "--network-alias",
    "--pid",
    "--platform",
    "--publish",
    "--pull",
    "--restart",
    "--runtime",
    "--security-opt",
    "--shm-size",
    "--stop-signal",
    "--stop-timeout",
    "--storage-opt",
    "--sysctl",
    "--tmpfs",
    "--ulimit",
    "--userns",
    "--uts",
    "--volume",
    "--volumes-from",
    "--isolation",
    "--pod",
}
COMPOSE_GLOBAL = {
    "-f",
    "--file",
    "-p",
    "--project-name",
    "--project-directory",
    "--env-file",
    "--profile",
    "--ansi",
    "--progress",
    "--parallel",
}


def docker(words: list[str], ctx: Context):
    options, rest = after_options(words[1:], DOCKER_GLOBAL)
    if rest[:1] == ["container"]:
        rest = rest[1:]
    if not rest:
        return None
    sub, args = rest[0], rest[1:]
    if sub == "compose":
        return compose(["docker-compose", *args], ctx)
    if sub == "exec":
        _, inner = after_options(args, EXEC_VALUED)
        return inner[1:], ctx
    if sub == "run":
        options, inner = after_options(args, RUN_VALUED)
        entry = option(options, "--entrypoint")
        inner = inner[1:]
        return ([entry, *inner] if entry else inner), ctx
    return cores.judge_docker(words[0], sub, args)


def compose(words: list[str], ctx: Context):
    options, rest = after_options(words[1:], COMPOSE_GLOBAL)
    if "--dry-run" in options or not rest:
        return None
    sub, args = rest[0], rest[1:]
    if sub in ("exec", "run"):
        options, inner = after_options(args, RUN_VALUED if sub == "run" else EXEC_VALUED)
        entry = option(options, "--entrypoint")
        inner = inner[1:]
        return ([entry, *inner] if entry else inner), ctx
    return cores.judge_compose(sub, args)


def kubectl(words: list[str], ctx: Context):
    if "--" in words:
        return words[words.index("--") + 1 :], ctx
    return cores.judge_kubectl(words)


# --- task runners: make, just, npm ---------------------------------------------------------


def make(words: list[str], ctx: Context):
    valued = {
        "-C",
        "--directory",
        "-f",
        "--file",
        "--makefile",
        "-j",
        "--jobs",
        "-l",
        "-o",
        "-W",
        "-I",
        "--include-dir",
        "--load-average",
        "--what-if",
        "--old-file",
    }
    options, rest = {}, []
    args = words[1:]
    i = 0
    while i < len(args):  # make takes options after targets too
        word = args[i]
        if word.startswith("-") and word != "-":
            name, equals, value = word.partition("=")
            if equals and name.startswith("--"):
                options[name] = value
            elif word in valued:
                options[word] = args[i + 1] if i + 1 < len(args) else ""
                i += 1
            elif word[:2] in valued and len(word) > 2:
                options[word[:2]] = word[2:]
            else:
                options[word] = ""
        else:
            rest.append(word)
        i += 1
    if {"-n", "--dry-run", "--just-print", "--recon", "-q", "--question", "-p"} & set(options):
        return None  # make prints what it would run; nothing runs
    folder = option(options, "-C", "--directory")
    here = ctx.but(cwd=ctx.path(folder)) if folder else ctx
    variables = dict(arg.split("=", 1) for arg in rest if "=" in arg)
    targets = [arg for arg in rest if "=" not in arg]
    name = option(options, "-f", "--file", "--makefile")
    names = [name] if name else ["GNUmakefile", "makefile", "Makefile"]
    text = next((t for t in (here.read(n) for n in names) if t is not None), None)
    if text is None:
        return None
    from .tasks import makefile_recipes

    for line in makefile_recipes(text, targets, variables):
        reason = judge_text(line, here.deeper())
        if reason:
            return f"make {' '.join(targets) or '(default)'}: {reason}"
    return None


def just(words: list[str], ctx: Context):
    options, rest = after_options(words[1:], {"-f", "--justfile", "-d", "--working-directory"})
    if {"-n", "--dry-run", "-l", "--list", "--show", "-s", "--summary"} & set(options):
        return None
    here = ctx
    folder = option(options, "-d", "--working-directory")
    if folder:
        here = ctx.but(cwd=ctx.path(folder))
    name = option(options, "-f", "--justfile")
    text = next(
        (
            t
            for t in (
                here.read(n) for n in ([name] if name else ["justfile", "Justfile", ".justfile"])
            )
            if t is not None
        ),
        None,
    )
    if text is None:
        return None
    from .tasks import justfile_recipes

    for line in justfile_recipes(text, rest[:1]):
        reason = judge_text(line, here.deeper())
        if reason:
            return f"just {' '.join(rest[:1]) or '(default)'}: {reason}"
    return None


def package_script(words: list[str], ctx: Context):
    """npm/pnpm/yarn/bun run NAME: the script in package.json (and its pre/post)."""
    options, rest = after_options(words[1:], {"--prefix", "-C", "--dir", "--cwd", "--filter"})
    folder = option(options, "--prefix", "-C", "--dir", "--cwd")
    here = ctx.but(cwd=ctx.path(folder)) if folder else ctx
    program = Path(words[0]).name
    if rest[:1] in (["run"], ["run-script"]):
        rest = rest[1:]
    elif program == "npm" or (rest[:1] and rest[0] in ("install", "add", "i", "ci", "test")):
        if rest[:1] == ["exec"]:
            return rest[1:], ctx
        return None
    if not rest:
        return None
    try:
        scripts = json.loads(here.read("package.json") or "{}").get("scripts") or {}
    except (ValueError, AttributeError):
        return None
    for name in (f"pre{rest[0]}", rest[0], f"post{rest[0]}"):
        script = scripts.get(name)
        if isinstance(script, str):
            reason = judge_text(" ".join([script, *rest[1:]]), here.deeper())
            if reason:
                return f"{program} run {rest[0]}: {reason}"
    return None


def dotenv(words: list[str], ctx: Context):
    _, rest = after_options(words[1:], {"-f", "--file", "-e", "--export"})
    if rest[:1] == ["run"]:
        _, rest = after_options(rest[1:], set())
        return rest, ctx
    return None


def command_builtin(words: list[str], ctx: Context):
    if any(w in ("-v", "-V") for w in words[1:2]):
        return None  # command -v NAME: looks the name up
    _, rest = after_options(words[1:], set())
    return rest, ctx


# --- a program we do not know -----------------------------------------------------------------

# Programs that print, search or edit their words and never run them.
INERT = {
    "echo",
    "printf",
    "grep",
    "egrep",
    "fgrep",
    "rg",
    "ag",
    "ack",
    "man",
    "info",
    "help",
    "which",
    "type",
    "whereis",
    "apropos",
    "cat",
    "less",
    "more",
    "head",
    "tail",
    "wc",
    "sort",
    "uniq",
    "cut",
    "tr",
    "sed",
    "awk",
    "jq",
    "yq",
    "gh",
    "pip",
    "pip3",
    "apt",
    "apt-get",
    "brew",
    "dnf",
    "yum",
    "apk",
    "curl",
    "wget",
    "touch",
    "mkdir",
    "ls",
    "stat",
    "file",
    "diff",
    "tree",
    "test",
    "[",
    "[[",
    "true",
    "false",
    "read",
    "export",
    "declare",
    "local",
    "alias",
    "set",
    "unset",
    "history",
    "code",
    "vim",
    "vi",
    "nano",
    "emacs",
    "open",
    "xdg-open",
    "basename",
    "dirname",
    "realpath",
    "readlink",
    "ln",
    "cp",
    "mv",
    "chmod",
    "chown",
    "printenv",
    "pgrep",
    "pkill",
    "kill",
    "ps",
    "date",
    "sleep",
    "tldr",
    "ruff",
    "black",
    "isort",
    "mypy",
    "pyright",
    "git-commit",
    "notify-send",
    "logger",
    "tar",
    "zip",
    "unzip",
    "gzip",
    "wait",
    "exit",
    "return",
    "shift",
    "trap",
    "ulimit",
    "umask",
    "hash",
    "pwd",
    "popd",
    "dirs",
}
ENTRY = {
    "alembic",
    "psql",
    "mysql",
    "mariadb",
    "sqlite3",
    "dropdb",
    "mysqladmin",
    "pg_restore",
    "supabase",
    "prisma",
    "dbmate",
    "docker",
    "docker-compose",
    "podman",
}


def generic(words: list[str], ctx: Context):
    program = Path(words[0]).name
    if program in INERT:
        return None
    args = words[1:]
    if "--" in args:
        tail = args[args.index("--") + 1 :]
        if tail:
            return tail, ctx
    for index, word in enumerate(args):
        name = Path(word).name
        if name in ENTRY or cores.PYTHON.match(name) and index + 1 < len(args):
            return args[index:], ctx
    return None


HANDLERS = {
    "env": env,
    "sudo": sudo,
    "doas": plain({"-u", "-C"}),
    "su": su,
    "runuser": su,
    "timeout": timeout,
    "gtimeout": timeout,
    "nice": plain({"-n", "--adjustment"}),
    "ionice": plain({"-c", "-n", "--class", "--classdata"}),
    "nohup": plain(set()),
    "time": plain({"-o", "-f", "--output", "--format"}),
    "command": command_builtin,
    "builtin": plain(set()),
    "exec": plain({"-a"}),
    "stdbuf": plain({"-i", "-o", "-e", "--input", "--output", "--error"}),
    "setsid": plain(set()),
    "chronic": plain(set()),
    "unbuffer": plain(set()),
    "caffeinate": plain({"-t", "-w"}),
    "flock": flock,
    "xargs": xargs,
    "watch": watch,
    "uv": runner(UV_VALUED, {"run"}, ("--directory",)),
    "uvx": uvx,
    "pipx": runner({"--spec", "--python", "--pip-args"}, {"run"}),
    "poetry": runner({"-C", "--directory", "-P", "--project"}, {"run"}, ("-C", "--directory")),
    "pdm": runner({"-p", "--project", "-v"}, {"run"}),
    "pipenv": runner(set(), {"run"}),
    "rye": runner({"--pyproject"}, {"run"}),
    "hatch": runner({"-e", "--env", "-p", "--project"}, {"run"}),
    "pixi": runner({"-e", "--environment", "--manifest-path"}, {"run", "exec"}),
    "conda": runner({"-n", "--name", "-p", "--prefix", "--cwd"}, {"run"}, ("--cwd",)),
    "mamba": runner({"-n", "--name", "-p", "--prefix", "--cwd"}, {"run"}, ("--cwd",)),
    "micromamba": runner({"-n", "--name", "-p", "--prefix", "--cwd"}, {"run"}, ("--cwd",)),
    "npx": npx,
    "bunx": npx,
    "dotenv": dotenv,
    "bash": shell_program,
    "sh": shell_program,
    "zsh": shell_program,
    "dash": shell_program,
    "ksh": shell_program,
    "ash": shell_program,
    "fish": shell_program,
    "source": shell_program,
    ".": shell_program,
    "eval": evaluate,
    "ssh": ssh,
    "docker": docker,
    "podman": docker,
    "nerdctl": docker,
    "docker-compose": compose,
    "podman-compose": compose,
    "kubectl": kubectl,
    "oc": kubectl,
    "make": make,
    "gmake": make,
    "just": just,
    "npm": package_script,
    "pnpm": package_script,
    "yarn": package_script,
    "bun": package_script,
}


def coverage(words: list[str], ctx: Context):
    if words[1:2] != ["run"]:
        return None
    _, rest = after_options(
        words[2:],
        {
            "--rcfile",
            "--source",
            "--omit",
            "--include",
            "--data-file",
            "--context",
            "--concurrency",
        },
    )
    if words[2:3] == ["-m"] or "-m" in words[2:]:
        index = words.index("-m")
        return ["python", "-m", *words[index + 1 :]], ctx
    return ["python", *rest], ctx


HANDLERS["coverage"] = coverage
