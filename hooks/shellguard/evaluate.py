"""Walk a parsed command line as the shell would run it: `cd` moves the folder for what
follows, a pipe hands one command's output to the next, a heredoc or `<` gives a command its
input, $( ) and <( ) run too. Each simple command is unwrapped (runners, shells,
containers, make and npm targets; wrappers.py) down to what really runs, and judged
(cores.py)."""

from __future__ import annotations

import os
from pathlib import Path

from . import shell

MAX_READ = 1_000_000  # bytes of a file read as SQL, code, a script or a Makefile
RESERVED = {"if", "then", "else", "elif", "do", "while", "until", "!", "{", "}"}
SKIPPED = {"fi", "done", "esac", "for", "case", "select", "function", "in"}


class Context:
    """Where a command runs: its folder, the variables set for it, how deep we are, and the
    text on its standard input when we know it."""

    __slots__ = ("cwd", "env", "depth", "stdin")

    def __init__(self, cwd: Path, env: dict | None = None, depth: int = 0, stdin=None) -> None:
        self.cwd, self.env, self.depth, self.stdin = cwd, env or {}, depth, stdin

    def but(self, **changes) -> Context:
        values = {name: getattr(self, name) for name in self.__slots__}
        values.update(changes)
        return Context(**values)

    def deeper(self, **changes) -> Context:
        return self.but(depth=self.depth + 1, **changes)

    def path(self, name: str) -> Path:
        name = os.path.expanduser(name)
        return Path(name) if os.path.isabs(name) else self.cwd / name

    def read(self, name: str) -> str | None:
        try:
            path = self.path(name)
            if not path.is_file():
                return None
            with open(path, "rb") as handle:
                return handle.read(MAX_READ).decode("utf-8", "replace")
        except (OSError, ValueError):
            return None


def judge_text(text: str, ctx: Context) -> str | None:
    """Why running `text` as a shell command line may lose data, or None."""
    if ctx.depth > shell.MAX_DEPTH or not text.strip():
        return None
    try:
        script = shell.parse(text)
    except RecursionError:
        return None
    return judge_script(script, ctx.but())


def judge_script(script: list, ctx: Context) -> str | None:
    """Judge each pipeline in order; `cd` changes ctx for the ones after it."""
    for pipeline in script:
        output = None
        for stage in pipeline:
            if isinstance(stage, shell.Group):
                inner = ctx.but() if stage.subshell else ctx
                reason = judge_script(stage.script, inner.deeper() if stage.subshell else inner)
                if reason:
                    return reason
                output = None
                continue
            reason, output = judge_stage(stage, ctx, output, alone=len(pipeline) == 1)
            if reason:
                return reason
    return None


def judge_stage(command: shell.Command, ctx: Context, piped, alone: bool):
    """(reason, output): why this simple command may lose data, and the text it writes to
    its standard output when that can be told (for the next command of a pipe)."""
    for word in command.words:
        for sub in word.subs:
            reason = judge_text(sub, ctx.deeper())
            if reason:
                return reason, None
    for _, target in command.redirects:
        if isinstance(target, shell.Word):
            for sub in target.subs:
                reason = judge_text(sub, ctx.deeper())
                if reason:
                    return reason, None
    words = [w.text for w in command.words]
    while words and words[0] in RESERVED:
        words = words[1:]
    if not words or words[0] in SKIPPED:
        return None, None
    stdin = input_of(command, ctx, piped)
    env = dict(ctx.env)
    while words and is_assignment(words[0]):
        name, _, value = words[0].partition("=")
        env[name] = value
        words = words[1:]
    if not words:
        ctx.env.update(env)  # FOO=bar alone sets it for what follows
        return None, None
    if words[0] in ("cd", "pushd") and alone:
        target = next((w for w in words[1:] if not w.startswith("-")), "~")
        if "$" not in target and not target.startswith("~"):
            ctx.cwd = ctx.path(target)
        return None, None
    from .wrappers import judge_words

    here = ctx.but(env=env, stdin=stdin)
    return judge_words(words, here), output_of(words, here)


def is_assignment(word: str) -> bool:
    name, equals, _ = word.partition("=")
    return bool(equals) and name.replace("_", "a").isalnum() and not name[:1].isdigit()


def input_of(command: shell.Command, ctx: Context, piped) -> str | None:
    text = piped
    for operator, target in command.redirects:
        if isinstance(target, shell.Heredoc):
            text = target.body
        elif operator == "<<<" and isinstance(target, shell.Word):
            text = target.text + "\n"
        elif operator == "<" and isinstance(target, shell.Word):
            text = ctx.read(target.text)
    return text


def output_of(words: list[str], ctx: Context) -> str | None:
    """What cat, echo, printf and tee write (under any wrapper), when it can be told."""
    from .wrappers import unwrap

    words, ctx = unwrap(words, ctx)
    if not words:
        return None
    program, args = Path(words[0]).name, words[1:]
    if program in ("cat", "tee", "zcat") and program != "zcat":
        files = [a for a in args if not a.startswith("-")] if program == "cat" else []
        if not files or files == ["-"]:
            return ctx.stdin
        texts = [ctx.read(name) for name in files]
        return "\n".join(t for t in texts if t is not None)
    if program == "echo":
        while args and args[0] in ("-n", "-e", "-E", "-ne", "-en"):
            args = args[1:]
        return " ".join(args) + "\n"
    if program == "printf" and args:
        return printf(args[0], args[1:])
    return None


def printf(form: str, args: list[str]) -> str:
    form = shell.ansi_c(form)
    if "%s" not in form:
        return form + " ".join(args)
    out, rest = [], list(args) or [""]
    while rest:
        piece = form
        while "%s" in piece and rest:
            piece = piece.replace("%s", rest.pop(0), 1)
        out.append(piece.replace("%s", ""))
    return "".join(out)
