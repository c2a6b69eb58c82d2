"""The body of a prompt: what Claude Code expands or runs, and what it names.

Fenced code blocks are examples: a rule looks inside one only when its info string asks,
with `check=plugin` (```bash check=plugin)."""

from __future__ import annotations

import bisect
import itertools
import json
import os
import re
import unicodedata
from pathlib import Path
from urllib.parse import unquote

from ..facts import load
from ..model import Finding, Plugin, Prompt
from ..read import exists
from ..shell_lines import refusal
from . import rule
from .frontmatter import split_tools

EVERY = ("command", "skill", "agent", "reference")


FENCE = re.compile(r"^[ \t]*(?:>[ \t]?)*[ \t]*(`{3,}|~{3,})(.*)$")


def fences(body: str) -> list[tuple[int, int, str]]:
    """(first line, last line, info string) of each fenced block, 0-based, read line by line
    as CommonMark opens and closes them: a run of three or more backticks or tildes (after
    any indentation or blockquote marks), closed by a run of the same character at least as
    long with nothing after it; a block left open runs to the end. One pass, no parser: a
    plugin of 36 MB of prompts is read in seconds, not minutes."""
    found, start, marker, info = [], None, "", ""
    lines = body.split("\n")
    for number, line in enumerate(lines):
        if "``" not in line and "~~" not in line:  # no fence on this line: most lines
            continue
        match = FENCE.match(line)
        if start is None:
            if match and not (match.group(1)[0] == "`" and "`" in match.group(2)):
                start, marker, info = number, match.group(1), match.group(2).strip()
        elif match and match.group(1)[0] == marker[0] and len(match.group(1)) >= len(marker):
            if not match.group(2).strip():
                found.append((start, number, info))
                start = None
    if start is not None:
        found.append((start, len(lines) - 1, info))
    return found


def prose(prompt: Prompt) -> str:
    """The body with fenced blocks blanked (line numbers kept), unless they ask to be checked."""
    if "prose" not in prompt.cache:
        lines = prompt.body.split("\n")
        for first, last, info in fences(prompt.body):
            if "check=plugin" not in info:
                for number in range(first, last + 1):
                    lines[number] = ""
        prompt.cache["prose"] = "\n".join(lines)
    return prompt.cache["prose"]


_newlines: list = [None, []]  # the last text asked about, and where its lines break


def at(text: str, offset: int) -> int:
    """The line of `offset` in `text` (1-based), by bisection over the text's line breaks."""
    if _newlines[0] is not text:
        _newlines[:] = [text, [m.start() for m in re.finditer("\n", text)]]
    return bisect.bisect_left(_newlines[1], offset) + 1


@rule("bang-brace", "!{...} is not Claude Code syntax; it reaches the model as text", kinds=EVERY)
def bang_brace(plugin: Plugin, prompt: Prompt):
    """`!{git diff}` (Gemini CLI's shell injection) never runs in Claude Code. `!{bash ...}`,
    `!{Read ...}` or `!{skill ...}`, naming a tool first, is a notation some plugins use to
    tell the model which tool to call: it reaches the model as meant, so it is not flagged."""
    text = prose(prompt)
    tools = {t.lower() for t in (*load()["tools"], *load()["tool_aliases"])} | {"skill"}
    for match in re.finditer(r"!\{\s*([A-Za-z_][\w-]*)?", text):
        if (match.group(1) or "").lower() in tools:
            continue
        message = (
            "'!{...}' is not Claude Code syntax and is sent to the model as text; to run a "
            "command before the prompt write !`command` and allow it in allowed-tools"
        )
        yield Finding(prompt.rel, at(text, match.start()), "bang-brace", message)


@rule(
    "bang-not-allowed",
    "!`cmd` that is not read-only runs only with an allowed-tools entry for it",
    kinds=("command", "skill"),
)
def bang_not_allowed(plugin: Plugin, prompt: Prompt):
    """Claude Code runs a `!` line's read-only commands (ls, cat, find, git status, ...)
    without asking; anything else needs an allowed-tools entry, or the prompt fails to
    expand (shell_lines.py; measured against the pinned CLI)."""
    allowed = prompt.meta.get("allowed-tools") or []
    allowed = split_tools(allowed if isinstance(allowed, str) else [str(a) for a in allowed])
    text = prose(prompt)
    for match in re.finditer(r"(?<![\w`])!`([^`\n]+)`", text):
        command = match.group(1).strip()
        reason = refusal(command, allowed)
        if reason is None:
            continue
        message = (
            f"!`{command[:80]}` stops the prompt: Claude Code asks before running it "
            f"({reason}) and allowed-tools has no Bash entry that permits it"
        )
        yield Finding(prompt.rel, at(text, match.start()), "bang-not-allowed", message)


@rule("plugin-root-path", "${CLAUDE_PLUGIN_ROOT}/path must exist in the plugin", kinds=EVERY)
def plugin_root_path(plugin: Plugin, prompt: Prompt):
    if copied(plugin, prompt):
        return  # a template of another plugin's file: its root is that plugin's
    text = prose(prompt)
    places = [(at(text, m.start()), m.group(1)) for m in PLUGIN_PATH.finditer(text)]
    for key in ("allowed-tools", "tools"):  # Bash(${CLAUDE_PLUGIN_ROOT}/x.sh:*)
        value = prompt.meta.get(key)
        value = " ".join(map(str, value)) if isinstance(value, list) else str(value or "")
        places += [(prompt.line_of(key), m.group(1)) for m in PLUGIN_PATH.finditer(value)]
    for line, target in places:
        target = re.sub(r"(:\*|\*)$", "", target.rstrip(".,;:"))
        if PLACEHOLDER.search(target) or re.fullmatch(r"[\w-]{1,32}", target):
            continue  # <name>, {id}, [x], or one bare word (`${CLAUDE_PLUGIN_ROOT}/path`)
        if "*" in target or "?" in target:  # a pattern (Bash(${CLAUDE_PLUGIN_ROOT}/s/*.sh:*))
            if not next(itertools.islice(safe_glob(plugin.root, target), 1), None):
                message = f"${{CLAUDE_PLUGIN_ROOT}}/{target[:120]} matches no file of the plugin"
                yield Finding(prompt.rel, line, "plugin-root-path", message)
        elif target and not exists(plugin.root / target):
            message = f"${{CLAUDE_PLUGIN_ROOT}}/{target[:120]} does not exist in the plugin"
            yield Finding(prompt.rel, line, "plugin-root-path", message)


PLUGIN_PATH = re.compile(r"\$\{CLAUDE_PLUGIN_ROOT\}/([^\s`'\")\]>]{1,4096})")


def safe_glob(root, pattern: str):
    try:
        yield from root.glob(pattern)
    except (OSError, ValueError, NotImplementedError):  # an absolute or malformed pattern
        return


PLACEHOLDER = re.compile(r"[<{\[]")  # a path with a slot in it is a pattern, not a file


@rule("plugin-id", "plugin:NAME must name an agent, skill or command of the plugin", kinds=EVERY)
def plugin_id(plugin: Plugin, prompt: Prompt):
    text = prose(prompt)
    if f"{plugin.name}:" not in text:
        return
    every = set().union(*(plugin.names(k) for k in ("agent", "skill", "command", "workflow")))
    pattern = rf"(?<![\w/-]){re.escape(plugin.name)}:([A-Za-z0-9_-]+)"
    # the names skill-reference and subagent-type report: each problem is reported once
    owned = {m.start(1) for m in re.finditer(r"\bSkill\(([a-z0-9:-]+)\)", text)}
    owned |= {m.start(1) for m in SUBAGENT.finditer(text)}
    comments = [(m.start(), m.end()) for m in re.finditer(r"<!--[\s\S]*?-->", text)]
    for match in re.finditer(pattern, text):
        if match.start() in owned or any(a <= match.start() < b for a, b in comments):
            continue  # an HTML comment's marker (<!-- plugin:section:start -->) names nothing
        if text[match.end() : match.end() + 1] in ("{", "<", "*"):
            continue  # plugin:handler-{platform}: a pattern of names, not a name
        if not invoked(text, match.start(), match.end()):
            continue  # buildkite:get_build, a meta-data key, a workflow id: not a component
        if match.group(1) not in every:
            message = f"{match.group(0)} names no agent, skill or command of this plugin"
            yield Finding(prompt.rel, at(text, match.start()), "plugin-id", message)


KIND_WORD = re.compile(r"\b(?:sub)?agents?\b|\bskills?\b|\b(?:slash[ -])?commands?\b", re.I)


def invoked(text: str, start: int, end: int) -> bool:
    """Whether `plugin:name` at text[start:end] is used as a component: the kind it is
    (agent, skill, command) is named beside it on its line, or it is in !{skill ...}."""
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    before = text[line_start:start].split()[-3:]
    after = text[end : line_end if line_end >= 0 else len(text)].split()[:3]
    return bool(KIND_WORD.search(" ".join(before + after)))


def folded(name: str) -> str:
    """How the Agent tool compares a subagent_type it does not find as written: NFKC, lower
    case, without spaces, dashes and underscores (one match is taken, two are ambiguous)."""
    return re.sub(r"[\s\-_\u2010-\u2015\u2212]+", "", unicodedata.normalize("NFKC", name).lower())


SUBAGENT = re.compile(r"subagent_type\s*[:=]\s*[\"']([A-Za-z0-9_:.-]+)[\"']")


@rule("subagent-type", "subagent_type must name an agent Claude Code has", kinds=EVERY)
def subagent_type(plugin: Plugin, prompt: Prompt):
    text = prose(prompt)
    if "subagent_type" not in text:
        return
    agents = plugin.names("agent")
    available = [f"{plugin.name}:{a}" for a in sorted(agents)] + list(load()["builtin_agents"])
    ours = ", ".join(f"{plugin.name}:{a}" for a in sorted(agents)) or "none"
    for match in SUBAGENT.finditer(text):
        value = match.group(1)
        if ":" in value and not value.startswith(plugin.name + ":"):
            continue  # another plugin's agent: not ours to judge
        if value in available or [folded(a) for a in available].count(folded(value)) == 1:
            continue
        if SLOT.fullmatch(value.split(":")[-1]):
            continue  # subagent_type: "agent-name", how to write one
        if ":" not in value and folded(value) not in {folded(a) for a in agents}:
            continue  # a bare name none of ours: the user's own agent may have it
        message = f"subagent_type {value!r} names no agent Claude Code has (ours: {ours})"
        yield Finding(prompt.rel, at(text, match.start()), "subagent-type", message)


@rule(
    "skill-reference",
    "Skill(x) and skills:/agent: keys must name a skill or agent we have",
    kinds=EVERY,
)
def skill_reference(plugin: Plugin, prompt: Prompt):
    text = prose(prompt)
    for match in re.finditer(r"\bSkill\(([a-z0-9:-]+)\)", text):
        name = match.group(1)
        mine = not (":" in name and not name.startswith(plugin.name + ":"))
        short = name.split(":")[-1]
        if SLOT.fullmatch(short):
            continue  # Skill(name), Skill(skill-name): how to write one, not a reference
        if mine and short not in plugin.names("skill") | beside(plugin):
            message = f"Skill({name}) names no skill of this plugin"
            yield Finding(prompt.rel, at(text, match.start()), "skill-reference", message)
    keys = (("skills", "skill"),) + ((("agent", "agent"),) if prompt.kind == "skill" else ())
    for key, kind in keys if prompt.kind in ("agent", "skill") else ():
        value = prompt.meta.get(key)
        wanted = split_tools(value) if isinstance(value, str) else value
        for name in wanted if isinstance(wanted, list) else []:
            if ":" in str(name) and not str(name).startswith(plugin.name + ":"):
                continue  # another plugin's, as Skill(other:x) above
            short = str(name).split(":")[-1]
            builtin = kind == "agent" and short in load()["builtin_agents"]
            known = plugin.names(kind) | (beside(plugin) if kind == "skill" else set())
            if short not in known and not builtin:
                message = f"{key}: {name!r} names no {kind} of this plugin"
                if kind == "skill" and prompt.kind == "agent":  # as the pinned CLI resolves it
                    message += (
                        " (an agent then gets any installed plugin's skill of that name, or none)"
                    )
                yield Finding(prompt.rel, prompt.line_of(key), "skill-reference", message)


SLOT = re.compile(r"(?:[a-z]+-)?name|<[^>]*>")


def beside(plugin: Plugin) -> set[str]:
    """The skills of the other plugins a marketplace above this one lists (installed with it
    from one catalog): a name of theirs is not reported as unknown here."""
    if "beside" not in plugin.cache:
        names: set[str] = set()
        for up in list(plugin.root.parents)[:3]:
            manifest = up / ".claude-plugin" / "marketplace.json"
            try:
                data = json.loads(manifest.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            for entry in data.get("plugins", []) if isinstance(data, dict) else []:
                source = entry.get("source") if isinstance(entry, dict) else None
                if isinstance(source, str) and source.startswith("./"):
                    skills = up / source / "skills"
                    names |= {p.parent.name for p in safe_glob(skills, "*/SKILL.md")}
            break
        plugin.cache["beside"] = names
    return plugin.cache["beside"]


def skill_dir(plugin: Plugin, prompt: Prompt):
    """The skill folder a file belongs to (skills/NAME/...), or None."""
    rel = plugin.rel(prompt.path).split("/")
    return plugin.root / rel[0] / rel[1] if len(rel) > 2 and rel[0] == "skills" else None


COPIED = {"templates", "assets", "examples"}  # a skill's output, or samples of it


def copied(plugin: Plugin, prompt: Prompt) -> bool:
    """A file made to be copied into the user's work (a skill's templates/ or assets/, or a
    file named as a template): its links are for where it lands, not for the plugin."""
    skill = skill_dir(plugin, prompt)
    if skill is not None and COPIED & set(prompt.path.relative_to(skill).parts[:-1]):
        return True
    return "template" in prompt.path.stem.lower()


def broken_links(plugin: Plugin, prompt: Prompt):
    """(line, href, base, target) of each relative link whose file is not there, resolved
    from the file (Markdown) and, in a skill, from the skill's base directory, which Claude
    Code names to the model ("Base directory for this skill"). Files made to be copied, slots
    and links still to be written are left out."""
    if copied(plugin, prompt):
        return
    skill = skill_dir(plugin, prompt)
    expanded = {"${CLAUDE_PLUGIN_ROOT}/": plugin.root}  # by Claude Code
    if skill is not None:
        expanded["${CLAUDE_SKILL_DIR}/"] = skill  # by Claude Code
        expanded["{baseDir}/"] = skill  # by the model: the Skill tool names its base directory
    for line, href in links(prompt):
        href = unquote(href)
        base = prompt.path.parent
        for prefix, folder in expanded.items():
            if href.startswith(prefix):
                href, base = href[len(prefix) :], folder
        if re.match(r"^[a-z][a-z0-9+.-]*:", href, re.I) or href.startswith(("#", "/", "$", "{")):
            continue
        target = href.split("#", 1)[0]
        if re.fullmatch(r"\.{3,}|\u2026", target):
            continue  # [text](...): a link still to be written
        if not target or PLACEHOLDER.search(target) or exists(base / target):
            continue
        if skill is not None and base != skill and exists(skill / target):
            continue  # written from the skill's base directory
        if WORD.fullmatch(target) and next(safe_glob(base, f"{target}.*"), None) is None:
            continue  # [benchmark](url): one bare word that names no file is a slot
        yield line, href, base, target


@rule("link-dangling", "a link to a file the plugin has elsewhere, or outside it", kinds=EVERY)
def link_dangling(plugin: Plugin, prompt: Prompt):
    """The file is not where the link points, but the plugin has a file of that name (the path
    is wrong: a model or reader following it finds nothing), or the link leaves the plugin's
    folder (Claude Code installs that folder alone)."""
    for line, href, base, target in broken_links(plugin, prompt):
        folder = plugin.rel(base) or "."
        message = f"link {href[:120]!r} points to nothing (links resolve from {folder}/)"
        found = same_name(plugin, target)
        if found is not None:
            message += f"; the plugin has a file of that name: {found}"
            yield Finding(prompt.rel, line, "link-dangling", message)
        elif not within(plugin.root, base / target):
            message += "; it leaves the plugin's folder, which is all Claude Code installs"
            yield Finding(prompt.rel, line, "link-dangling", message)


@rule(
    "link-missing",
    "a link to a file the plugin has nowhere (opt-in: often a sample of output)",
    kinds=EVERY,
    default=False,
)
def link_missing(plugin: Plugin, prompt: Prompt):
    """A link inside the plugin to a name the plugin has nowhere: a file never written, or a
    link in a sample of what the prompt makes (a README's links, a document set's
    cross-references, a template). The text does not tell the two apart, so this rule runs
    only when asked (`--all`)."""
    for line, href, base, target in broken_links(plugin, prompt):
        if same_name(plugin, target) is None and within(plugin.root, base / target):
            folder = plugin.rel(base) or "."
            message = (
                f"link {href[:120]!r} points to no file of the plugin (links resolve from "
                f"{folder}/): write the file, or mark the link as an example"
            )
            yield Finding(prompt.rel, line, "link-missing", message)


def within(root: Path, path: Path) -> bool:
    return os.path.normpath(path).startswith(os.path.normpath(root) + os.sep)


def same_name(plugin: Plugin, target: str) -> str | None:
    """Where the plugin has a file or folder named as `target`'s last part (or that name with
    a suffix: a link written without `.md`), relative to the plugin; None if nowhere."""
    if "names" not in plugin.cache:
        names: dict[str, str] = {}
        for top, dirs, files in os.walk(plugin.root, followlinks=False):
            dirs[:] = sorted(d for d in dirs if d not in (".git", "node_modules"))
            for name in [*dirs, *sorted(files)]:
                names.setdefault(name, plugin.rel(Path(top) / name))
                names.setdefault(name.split(".", 1)[0] + ".*", plugin.rel(Path(top) / name))
            if len(names) > 200_000:
                break
        plugin.cache["names"] = names
    last = target.rstrip("/").rsplit("/", 1)[-1]
    if last in ("", ".", ".."):
        return None
    names = plugin.cache["names"]
    return names.get(last) or (names.get(last + ".*") if "." not in last else None)


WORD = re.compile(r"[A-Za-z_-]+")


@rule("link-absolute", "absolute file links break on every other machine", kinds=EVERY)
def link_absolute(plugin: Plugin, prompt: Prompt):
    if copied(plugin, prompt):
        return
    for line, href in links(prompt):
        if href.startswith(("/", "file:")) or re.match(r"^[A-Za-z]:\\", href):
            message = f"link {href[:120]!r} is an absolute path; link relative to this file"
            yield Finding(prompt.rel, line, "link-absolute", message)


CODE_SPAN = re.compile(r"(`+)(?!`)[\s\S]*?(?<!`)\1(?!`)")
LINK = re.compile(
    r"\]\(\s*(?:<([^>\n]*)>|([^\s()]*(?:\([^\s()]*\)[^\s()]*)*))"  # [text](dest
    r"(?:\s+(?:\"[^\"]*\"|'[^']*'|\([^)]*\)))?\s*\)"  # "title")
    r"|^[ ]{0,3}\[(?!\^)[^\]\n]+\]:[ \t]*<?([^\s>]+)>?"  # [label]: dest; [^n]: is a footnote
    r"(?:[ \t]+(?:\"[^\"\n]*\"|'[^'\n]*'|\([^)\n]*\)))?[ \t]*$",  # "title", then the line ends
    re.M,
)


def links(prompt: Prompt) -> list[tuple[int, str]]:
    """(line, href) of every inline link, image and link definition outside fenced blocks and
    code spans, on the line the link itself is on."""
    if "links" not in prompt.cache:
        text = CODE_SPAN.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), prose(prompt))
        prompt.cache["links"] = [
            (at(text, m.start()), next(g for g in m.groups() if g is not None))
            for m in LINK.finditer(text)
        ]
    return prompt.cache["links"]
