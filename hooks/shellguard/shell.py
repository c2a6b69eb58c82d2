"""A Bash command line read as the shell reads it: words with their quotes removed,
operators, redirections, heredoc bodies, command and process substitutions, subshells and
groups. What the shell would expand at run time ($VAR, globs) is kept as written and
marked, never guessed.

parse(text) -> a Script: a list of pipelines, each a list of Commands or Groups.
"""

from __future__ import annotations

MAX_DEPTH = 12  # nested $( ), ( ), bash -c '...' and scripts: deeper is read as plain words

OPERATORS = sorted(
    [
        "&&",
        "||",
        ";;",
        "|&",
        "<<<",
        "<<-",
        "<<",
        ">>",
        "&>>",
        "&>",
        ">&",
        "<&",
        ">|",
        "<>",
        "<",
        ">",
        "|",
        "&",
        ";",
        "(",
        ")",
        "\n",
    ],
    key=len,
    reverse=True,
)
REDIRECTS = {"<<<", "<<-", "<<", ">>", "&>>", "&>", ">&", "<&", ">|", "<>", "<", ">"}
SEPARATORS = {"&&", "||", ";", ";;", "&", "\n"}
META = set(" \t\n;&|()<>")


class Word:
    """One shell word: `text` with quotes removed; `dynamic` when it holds an expansion the
    shell makes at run time ($VAR, $(...), `...`); `glob` when an unquoted * ? [ is in it."""

    __slots__ = ("text", "dynamic", "glob", "subs")

    def __init__(self, text: str, dynamic: bool, glob: bool, subs: list[str]) -> None:
        self.text, self.dynamic, self.glob, self.subs = text, dynamic, glob, subs

    def __repr__(self) -> str:
        return f"Word({self.text!r})"


class Heredoc:
    __slots__ = ("delimiter", "strip_tabs", "body")

    def __init__(self, delimiter: str, strip_tabs: bool) -> None:
        self.delimiter, self.strip_tabs, self.body = delimiter, strip_tabs, ""


class Command:
    """A simple command: its words and its redirections [(operator, Word | Heredoc)]."""

    __slots__ = ("words", "redirects")

    def __init__(self) -> None:
        self.words: list[Word] = []
        self.redirects: list[tuple[str, object]] = []


class Group:
    """( list ) or { list; }: `subshell` when its cd does not reach the commands after it."""

    __slots__ = ("script", "subshell", "redirects")

    def __init__(self, script: list, subshell: bool) -> None:
        self.script, self.subshell, self.redirects = script, subshell, []


# --- tokens --------------------------------------------------------------------------------


def tokenize(text: str) -> list:
    """Words, operator strings and Heredoc records, in order."""
    tokens: list = []
    pending: list[Heredoc] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c in " \t\r":
            i += 1
            continue
        if c == "\\" and text.startswith("\\\n", i):
            i += 2
            continue
        if c == "#" and (not tokens or not isinstance(tokens[-1], Word) or text[i - 1] in " \t"):
            while i < n and text[i] != "\n":
                i += 1
            continue
        if c == "\n" and pending:
            tokens.append("\n")
            i = read_heredocs(text, i + 1, pending)
            pending = []
            continue
        op = operator_at(text, i)
        if op and not (op in ("<", ">") and text.startswith("(", i + 1)):
            # an fd number before a redirection (2>, 1>&2) belongs to it
            if op in REDIRECTS and tokens and isinstance(tokens[-1], Word):
                if tokens[-1].text.isdigit() and i > 0 and text[i - 1].isdigit():
                    tokens.pop()
            i += len(op)
            if op in ("<<", "<<-"):
                while i < n and text[i] in " \t":
                    i += 1
                word, i = read_word(text, i, 0)
                record = Heredoc(word.text, op == "<<-")
                pending.append(record)
                tokens.append(record)
                continue
            tokens.append(op)
            continue
        word, i = read_word(text, i, 0)
        tokens.append(word)
    return tokens


def operator_at(text: str, i: int) -> str | None:
    for op in OPERATORS:
        if text.startswith(op, i):
            return op
    return None


def read_heredocs(text: str, i: int, pending: list[Heredoc]) -> int:
    """Fill each pending heredoc with the lines after the current one; return where the
    shell goes on reading."""
    for record in pending:
        lines = []
        while i <= len(text):
            end = text.find("\n", i)
            line = text[i:] if end < 0 else text[i:end]
            i = len(text) + 1 if end < 0 else end + 1
            check = line.lstrip("\t") if record.strip_tabs else line
            if check == record.delimiter:
                break
            lines.append(check)
            if end < 0:
                break
        record.body = "\n".join(lines)
    return min(i, len(text))


def read_word(text: str, i: int, depth: int) -> tuple[Word, int]:
    """The word starting at i, and where it ends."""
    out: list[str] = []
    dynamic = glob = False
    subs: list[str] = []
    n = len(text)
    while i < n:
        c = text[i]
        if c in META:
            if c in "<>" and text.startswith("(", i + 1):  # <(...) >(...): process substitution
                end = balanced(text, i + 2)
                subs.append(text[i + 2 : end - 1])
                out.append("/dev/fd/63")
                dynamic, i = True, end
                continue
            break
        if c == "\\":
            if i + 1 < n and text[i + 1] != "\n":
                out.append(text[i + 1])
            i += 2
        elif c == "'":
            end = text.find("'", i + 1)
            end = n if end < 0 else end
            out.append(text[i + 1 : end])
            i = end + 1
        elif c == "$" and text.startswith("$'", i):
            end = i + 2
            while end < n and text[end] != "'":
                end += 2 if text[end] == "\\" else 1
            out.append(ansi_c(text[i + 2 : end]))
            i = end + 1
        elif c == '"':
            i, part, dyn = read_double(text, i + 1, subs)
            out.append(part)
            dynamic = dynamic or dyn
        elif c == "$" or c == "`":
            i, part = read_expansion(text, i, subs)
            out.append(part)
            dynamic = True
        else:
            if c in "*?[":
                glob = True
            out.append(c)
            i += 1
    return Word("".join(out), dynamic, glob, subs), i


def read_double(text: str, i: int, subs: list[str]) -> tuple[int, str, bool]:
    out, dynamic, n = [], False, len(text)
    while i < n and text[i] != '"':
        c = text[i]
        if c == "\\" and i + 1 < n and text[i + 1] in '$`"\\\n':
            out.append("" if text[i + 1] == "\n" else text[i + 1])
            i += 2
        elif c in "$`":
            i, part = read_expansion(text, i, subs)
            out.append(part)
            dynamic = True
        else:
            out.append(c)
            i += 1
    return i + 1, "".join(out), dynamic


def read_expansion(text: str, i: int, subs: list[str]) -> tuple[int, str]:
    """$(...), `...`, ${...}, $((...)), $NAME: the command substitutions are kept to judge."""
    n = len(text)
    if text.startswith("$((", i):
        end = balanced(text, i + 2)
        return end, text[i:end]
    if text.startswith("$(", i):
        end = balanced(text, i + 2)
        subs.append(text[i + 2 : end - 1])
        return end, text[i:end]
    if text[i] == "`":
        end = text.find("`", i + 1)
        end = n if end < 0 else end
        subs.append(text[i + 1 : end].replace("\\`", "`"))
        return end + 1, text[i : end + 1]
    if text.startswith("${", i):
        end = text.find("}", i)
        end = n - 1 if end < 0 else end
        return end + 1, text[i : end + 1]
    end = i + 1
    if end < n and (text[end].isalnum() or text[end] == "_"):
        while end < n and (text[end].isalnum() or text[end] == "_"):
            end += 1
    elif end < n and text[end] in "@*#?$!-":
        end += 1
    else:
        return end, "$"
    return end, text[i:end]


def balanced(text: str, i: int) -> int:
    """The index just after the ) that closes a ( opened before i (quotes respected)."""
    depth, n = 1, len(text)
    while i < n:
        c = text[i]
        if c == "\\":
            i += 2
            continue
        if c == "'":
            end = text.find("'", i + 1)
            i = n if end < 0 else end + 1
            continue
        if c == '"':
            i, _, _ = read_double(text, i + 1, [])
            continue
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return n + 1


ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", "'": "'", '"': '"', "a": "\a", "e": "\x1b"}


def ansi_c(body: str) -> str:
    out, i = [], 0
    while i < len(body):
        if body[i] == "\\" and i + 1 < len(body):
            out.append(ESCAPES.get(body[i + 1], body[i + 1]))
            i += 2
        else:
            out.append(body[i])
            i += 1
    return "".join(out)


# --- the tree --------------------------------------------------------------------------------


def parse(text: str) -> list[list]:
    """A Script: a list of pipelines, each a list of Command or Group."""
    tokens = tokenize(text)
    script, _ = parse_list(tokens, 0, None)
    return script


def parse_list(tokens: list, i: int, closing: str | None) -> tuple[list, int]:
    script: list[list] = []
    pipeline: list = []
    command = Command()
    n = len(tokens)

    def end_command() -> None:
        nonlocal command
        if command.words or command.redirects:
            pipeline.append(command)
        command = Command()

    while i < n:
        token = tokens[i]
        if isinstance(token, Heredoc):
            command.redirects.append(("<<", token))
            i += 1
        elif isinstance(token, Word):
            if token.text == "{" and not command.words and not token.dynamic:
                group, i = parse_list(tokens, i + 1, "}")
                pipeline.append(Group(group, subshell=False))
            elif token.text == "}" and closing == "}" and not command.words:
                end_command()
                if pipeline:
                    script.append(pipeline)
                return script, i + 1
            else:
                command.words.append(token)
                i += 1
        elif token in REDIRECTS:
            target = tokens[i + 1] if i + 1 < n and isinstance(tokens[i + 1], Word) else None
            command.redirects.append((token, target))
            i += 2 if target is not None else 1
        elif token == "(":
            end_command()
            group, i = parse_list(tokens, i + 1, ")")
            pipeline.append(Group(group, subshell=True))
        elif token == ")":
            if closing == ")":
                end_command()
                if pipeline:
                    script.append(pipeline)
                return script, i + 1
            i += 1
        elif token in ("|", "|&"):
            end_command()
            i += 1
        else:  # ; && || & newline
            end_command()
            if pipeline:
                script.append(pipeline)
            pipeline = []
            i += 1
    end_command()
    if pipeline:
        script.append(pipeline)
    return script, i
