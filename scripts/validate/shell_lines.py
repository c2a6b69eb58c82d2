"""Whether Claude Code runs a prompt's !`command` line without asking.

A command's or skill's `!` line runs while the prompt is expanded. Claude Code runs it when
every simple command in it is read-only as Claude Code judges it, or is allowed by an
allowed-tools entry; otherwise the expansion stops with "Shell command permission check
failed" (measured on the pinned CLI: `tests/test_shell_lines.py` asks it about generated
lines). The line is read with the guard's own shell grammar (hooks/shellguard/shell.py).

`refusal(line, allowed)` gives a reason only when Claude Code surely asks. An allowed-tools
entry for the program lifts some reasons (a program that is not read-only, a read-only one
given a writing option); others it does not lift (output written to a file, a path outside
the project, a `{ }` or `( )` group, `VAR=x` before a command, a nested command). Where it
may go either way (a program named at run time, `X --version`) it gives None: the rule is
kept precise, not complete.
"""

from __future__ import annotations

import fnmatch
import importlib.util
import re
import sys
from pathlib import Path

_SHELL = Path(__file__).resolve().parents[2] / "hooks" / "shellguard" / "shell.py"


def _load_shell():
    name = "fastapi_async_db_shell_grammar"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, _SHELL)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


shell = _load_shell()

# Programs the pinned CLI's permission code lists as read-only (its lists of read-only,
# search and inspection commands, each with the options it takes as safe).
READ_ONLY = frozenset(
    """
    cal uptime cat head tail wc stat strings hexdump od nl id uname free df du locale groups
    nproc basename dirname realpath cut paste tr column tac rev fold expand unexpand fmt comm
    cmp numfmt readlink diff true false sleep type expr seq tsort pr ls grep egrep fgrep echo
    sha256sum sha1sum md5sum cd base64 date fd fdfind file hostname lsof netstat pgrep ps sed
    sort ss test tput tree which xargs pwd whoami alias find rg jq printf [
    """.split()
)
READ_ONLY_GIT = frozenset(
    """
    diff log show shortlog reflog status blame ls-files config remote merge-base rev-parse
    rev-list describe cat-file for-each-ref grep tag branch ls-remote stash worktree
    """.split()
)
# Options that make a read-only program write or run something (find's from the CLI's list).
WRITING = {
    "find": {"-delete", "-exec", "-execdir", "-ok", "-okdir", "-fprint", "-fprint0", "-fls"}
    | {"-fprintf"},
    "sed": {"-i", "--in-place"},
    "sort": {"-o", "--output"},
}
WRITES = {">", ">>", "&>", "&>>", ">|", "<>"}
QUIET_TARGETS = {"/dev/null", "/dev/stdout", "/dev/stderr"}
ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")
PLUGIN_DIR = re.compile(r"\$\{?CLAUDE_(PLUGIN_ROOT|SKILL_DIR|PLUGIN_DATA)\b")
FIND_ACTIONS = WRITING["find"]
VARIABLE = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*|[0-9@*#?$!-])")
# $ARGUMENTS (the prompt's arguments) and the plugin's folders are put in by Claude Code
# before the line runs: no variable the shell expands (measured: `wc -l $ARGUMENTS` and
# `echo "at ${CLAUDE_PLUGIN_ROOT}/x"` ran). HOME is the one variable echo may show.
PUT_IN = {"HOME", "ARGUMENTS", "CLAUDE_PLUGIN_ROOT", "CLAUDE_SKILL_DIR", "CLAUDE_PLUGIN_DATA"}
# Read-only programs whose arguments Claude Code checks as paths it may read (measured: each
# refused a path outside the project, even with an allowed-tools entry for it). Others it
# runs with any path (echo, basename, dirname, realpath, readlink, which, tree, du, fd).
PATH_READERS = frozenset("cat head tail ls stat file find rg grep diff sort jq sed wc".split())
# In one line, Claude Code asks before a second change of folder, and before git after a
# change of folder, whatever allowed-tools says (read in the pinned CLI, tests/test_shell_lines).
DIRECTORY_CHANGERS = frozenset({"cd", "pushd", "popd"})
VERSION = re.compile(r"-V|-v|--version|version|--help|-h")


def refusal(line: str, allowed: list[str]) -> str | None:
    """Why Claude Code asks before running `line` with these allowed-tools; None when it runs
    it, or when that cannot be told from the line."""
    if any(entry in ("Bash", "Bash(*)") for entry in allowed):
        return None
    try:
        script = shell.parse(line)
    except (RecursionError, IndexError, ValueError):
        return None
    programs = [
        part.words[0].text
        for pipeline in script
        for part in pipeline
        if not isinstance(part, shell.Group) and part.words and not part.words[0].dynamic
    ]
    moves = sum(program in DIRECTORY_CHANGERS for program in programs)
    if moves > 1:
        return "it changes folder more than once"  # asked even when allowed-tools matches
    if moves and "git" in programs:
        return "it changes folder and runs git (a folder may hold a crafted repository)"
    for pipeline in script:
        for part in pipeline:
            if isinstance(part, shell.Group):
                return "a { } or ( ) group is not checked as read-only"
            reason = unliftable(part)
            if reason:
                return reason
            reason = why_asked(part)
            if reason and not allowed_by(part, allowed):
                return reason
    return None


def unliftable(command) -> str | None:
    """What Claude Code asks about even with an allowed-tools entry for the program."""
    words = command.words
    targets = [t for _, t in command.redirects if isinstance(t, shell.Word)]
    if any(word.subs for word in [*words, *targets]):
        return "a nested command $(...) cannot be checked before it runs"
    for operator, target in command.redirects:
        if operator in WRITES and isinstance(target, shell.Word):
            if not target.dynamic and target.text not in QUIET_TARGETS:
                return f"it writes to {target.text}"
        if operator == "<" and isinstance(target, shell.Word) and outside(target):
            return f"it reads {target.text}, outside the project"
    program = words[0].text if words and not words[0].dynamic else ""
    if program == "cd":
        return left_by_cd(words[1:])
    for word in words[1:] if program in PATH_READERS else ():  # their paths are reads
        if word.text.split("=")[0] in FIND_ACTIONS and program == "find":
            return f"find {word.text} runs or writes; a Bash(find:*) entry does not allow it"
        if outside(word):
            return f"{word.text} is outside the project"
        if word.dynamic and not PLUGIN_DIR.match(word.text) and "$ARGUMENTS" not in word.text:
            return f"{word.text} is only known when the line runs"
    return None


def left_by_cd(args) -> str | None:
    """Claude Code asks before a cd that may leave the project, even with Bash(cd:*): to an
    absolute path (/dev/null too), ~ or $HOME, through .., or with no folder (home); `cd -`
    and a folder inside the project it runs (read in the pinned CLI, tests/test_shell_lines)."""
    folders = [word for word in args if word.text not in ("-L", "-P", "-e", "-@")]
    if not folders:
        return "cd with no folder goes to the home folder, outside the project"
    folder = folders[0]
    if folder.text == "-":
        return None
    if outside(folder) or folder.text in QUIET_TARGETS:
        return f"cd {folder.text} leaves the project"
    if folder.dynamic and "$ARGUMENTS" not in folder.text:
        return f"cd {folder.text}: the folder is only known when the line runs"
    return None


def outside(word) -> bool:
    """A path argument that leaves the project: absolute (but /dev/null), ~, through .., or
    in the plugin's own folder (Claude Code puts the absolute path in before the line runs)."""
    text = word.text
    path = text.split("=", 1)[1] if text.startswith("--") and "=" in text else text
    if PLUGIN_DIR.match(path):
        return True
    if word.dynamic or path in QUIET_TARGETS:
        return False
    return path.startswith(("/", "~")) or ".." in path.split("/")


def why_asked(command) -> str | None:
    """What an allowed-tools entry for the program lifts."""
    words = command.words
    if not words or words[0].dynamic:
        return None  # only redirections, or a program named at run time
    if ASSIGNMENT.match(words[0].text):
        return f"{words[0].text.split('=')[0]}=... is set before the command"
    program = words[0].text
    args = [word.text for word in words[1:]]
    if program == "git":
        sub = next((a for a in args if not a.startswith("-")), "")
        rest = args[args.index(sub) + 1 :] if sub else []
        if sub == "remote" and any(a not in ("-v", "--verbose") for a in rest):
            return f"git remote {' '.join(rest)} is not read-only (only -v is)"  # the CLI's rule
        return None if sub in READ_ONLY_GIT or not sub else f"git {sub} is not read-only"
    if program in ("echo", "printf"):
        for word in words[1:]:
            names = set(VARIABLE.findall(word.text)) - PUT_IN if word.dynamic else set()
            if names:
                return f"${sorted(names)[0]} is only known when the line runs"
    if program in READ_ONLY:
        for arg in args:
            option = arg.split("=")[0]
            if option in WRITING.get(program, ()) or (program == "sed" and arg.startswith("-i")):
                return f"{program} {arg} writes or runs something"
        return None
    if len(args) == 1 and VERSION.fullmatch(args[0]):
        return None  # some programs' version line is read-only to Claude Code
    return f"{program} is not a read-only command"


def allowed_by(command, allowed: list[str]) -> bool:
    """Whether a Bash(...) entry permits this simple command (`prefix:*` or a wildcard)."""
    words = [word.text for word in command.words]
    bare = words
    while bare and ASSIGNMENT.match(bare[0]):
        bare = bare[1:]
    texts = {" ".join(words), " ".join(bare)}
    return any(bash_allowed(text, [entry]) for entry in allowed for text in texts)


def bash_allowed(command: str, allowed: list[str]) -> bool:
    for entry in allowed:
        if entry == "Bash":
            return True
        match = re.fullmatch(r"Bash\((.*)\)", entry, re.S)
        if not match:
            continue
        pattern = match.group(1)
        prefix = pattern[:-2] if pattern.endswith(":*") else None
        if prefix is not None and (command == prefix or command.startswith(prefix + " ")):
            return True
        if fnmatch.fnmatchcase(command, pattern):
            return True
    return False
