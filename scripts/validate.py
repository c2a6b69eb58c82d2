#!/usr/bin/env python3
"""Validate the plugin: manifests and every frontmatter against JSON Schemas, plus the
checks Claude Code's own validator does not make (it reports only unparsable YAML and a
missing description).

    python scripts/validate.py [PLUGIN_DIR]

Each problem is printed as one line `path:line: message`; the exit status is 1 when there
is any, 0 when there is none.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import jsonschema
import yaml
from referencing import Registry, Resource

SCHEMAS = Path(__file__).resolve().parent / "schemas"
FACTS = json.loads((SCHEMAS / "claude-code.json").read_text(encoding="utf-8"))
KINDS = ("command", "skill", "agent")


@dataclass
class Prompt:
    kind: str  # command, skill, agent, reference
    path: Path
    rel: str
    text: str = ""
    meta: dict = field(default_factory=dict)
    key_lines: dict[str, int] = field(default_factory=dict)
    body_start: int = 1  # file line where the body begins

    @property
    def name(self) -> str:
        if self.kind == "skill":
            return str(self.meta.get("name") or self.path.parent.name)
        return str(self.meta.get("name") or self.path.stem)

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, 1)


class Validator:
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.problems: list[tuple[str, int, str]] = []
        self.prompts: list[Prompt] = []
        self.plugin_name = self.root.name
        self.registry = Registry().with_resources(
            (p.name, Resource.from_contents(json.loads(p.read_text(encoding="utf-8"))))
            for p in SCHEMAS.glob("*.schema.json")
        )

    # reporting
    def report(self, rel: str, line: int, message: str) -> None:
        self.problems.append((rel, line, message))

    def rel(self, path: Path) -> str:
        try:
            return path.resolve().relative_to(self.root).as_posix()
        except ValueError:
            return path.as_posix()

    # reading
    def read_text(self, path: Path) -> str | None:
        rel = self.rel(path)
        try:
            data = path.read_bytes()
        except OSError as exc:
            self.report(rel, 1, f"cannot read the file: {exc.strerror}")
            return None
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = data[: exc.start].count(b"\n") + 1
            self.report(
                rel,
                line,
                f"not UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
                "save the file as UTF-8",
            )
            return None
        return text.removeprefix("\ufeff")

    def schema_errors(self, rel: str, data: object, schema_name: str, lines) -> None:
        schema = json.loads((SCHEMAS / schema_name).read_text(encoding="utf-8"))
        validator = jsonschema.Draft202012Validator(schema, registry=self.registry)
        for error in sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path)):
            path = list(error.absolute_path)
            where = ".".join(str(p) for p in path) or "(top level)"
            if error.validator == "additionalProperties":
                extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
                for key in extra:
                    known = ", ".join(sorted(error.schema.get("properties", {})))
                    self.report(
                        rel,
                        lines([*path, key]),
                        f"unknown key {key!r}{' in ' + where if path else ''}: Claude Code "
                        f"ignores it; known keys: {known}",
                    )
                continue
            message = error.message
            if error.validator == "pattern" and isinstance(error.instance, str):
                message = f"{error.instance!r} does not match {error.schema['pattern']}"
            elif error.validator == "oneOf":
                message = f"{error.instance!r} has the wrong type or form"
            self.report(rel, lines(path), f"{where}: {message}")

    # manifests
    def load_json(self, path: Path) -> tuple[object, str] | None:
        rel = self.rel(path)
        if not path.is_file():
            self.report(rel, 1, "missing; Claude Code needs it (see README, Layout)")
            return None
        text = self.read_text(path)
        if text is None:
            return None
        if not text.strip():
            self.report(rel, 1, "empty file; it must hold a JSON object")
            return None
        try:
            return json.loads(text), text
        except json.JSONDecodeError as exc:
            self.report(rel, exc.lineno, f"not valid JSON: {exc.msg} (column {exc.colno})")
            return None

    def check_manifests(self) -> None:
        plugin_path = self.root / ".claude-plugin" / "plugin.json"
        loaded = self.load_json(plugin_path)
        if loaded:
            data, text = loaded
            rel = self.rel(plugin_path)
            if not isinstance(data, dict):
                self.report(rel, 1, "must be a JSON object")
            else:
                self.schema_errors(rel, data, "plugin.schema.json", json_lines(text))
                name = data.get("name")
                if isinstance(name, str) and re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", name):
                    self.plugin_name = name
                icon = data.get("icon")
                if isinstance(icon, str) and not (self.root / icon).is_file():
                    self.report(rel, json_lines(text)(["icon"]), f"icon: {icon} does not exist")
        market_path = self.root / ".claude-plugin" / "marketplace.json"
        if market_path.exists():
            loaded = self.load_json(market_path)
            if loaded:
                data, text = loaded
                rel = self.rel(market_path)
                if not isinstance(data, dict):
                    self.report(rel, 1, "must be a JSON object")
                    return
                self.schema_errors(rel, data, "marketplace.schema.json", json_lines(text))
                for index, entry in enumerate(data.get("plugins") or []):
                    if not isinstance(entry, dict) or not isinstance(entry.get("source"), str):
                        continue
                    target = (self.root / entry["source"]).resolve()
                    line = json_lines(text)(["plugins", index, "source"])
                    if not (target / ".claude-plugin" / "plugin.json").is_file():
                        self.report(
                            rel,
                            line,
                            f"plugins[{index}].source {entry['source']!r} "
                            "holds no .claude-plugin/plugin.json",
                        )
                    elif target == self.root and entry.get("name") != self.plugin_name:
                        self.report(
                            rel,
                            json_lines(text)(["plugins", index, "name"]),
                            f"plugins[{index}].name {entry.get('name')!r} differs from "
                            f"plugin.json's name {self.plugin_name!r}",
                        )

    # prompts
    def collect(self) -> None:
        for path in sorted((self.root / "commands").glob("**/*.md")):
            self.prompts.append(Prompt("command", path, self.rel(path)))
        skills = self.root / "skills"
        if skills.is_dir():
            for folder in sorted(p for p in skills.iterdir() if p.is_dir()):
                skill = folder / "SKILL.md"
                if skill.is_file():
                    self.prompts.append(Prompt("skill", skill, self.rel(skill)))
                else:
                    self.report(self.rel(folder), 1, "a skill folder without SKILL.md")
                for extra in sorted(folder.rglob("*.md")):
                    if extra != skill:
                        self.prompts.append(Prompt("reference", extra, self.rel(extra)))
        for path in sorted((self.root / "agents").glob("**/*.md")):
            self.prompts.append(Prompt("agent", path, self.rel(path)))
        for path in sorted((self.root / "references").glob("**/*.md")):
            self.prompts.append(Prompt("reference", path, self.rel(path)))

    def read_prompt(self, prompt: Prompt) -> bool:
        text = self.read_text(prompt.path)
        if text is None:
            return False
        prompt.text = text
        if prompt.kind == "reference":
            return True
        if not text.strip():
            self.report(
                prompt.rel,
                1,
                f"empty file; a {prompt.kind} needs frontmatter with a description and a body",
            )
            return False
        lines = text.split("\n")
        if lines[0].strip() != "---":
            self.report(
                prompt.rel,
                1,
                f"no frontmatter: a {prompt.kind} starts with a line "
                "'---', its YAML keys, and a closing '---'",
            )
            return False
        end = next((i for i in range(1, len(lines)) if lines[i].strip() == "---"), None)
        if end is None:
            self.report(prompt.rel, 1, "the frontmatter opened on line 1 is never closed by '---'")
            return False
        source = "\n".join(lines[1:end])
        prompt.body_start = end + 2
        try:
            node = yaml.compose(source)
            meta = yaml.safe_load(source)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = mark.line + 2 if mark else 1
            problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
            self.report(prompt.rel, line, f"frontmatter is not valid YAML: {problem}")
            return False
        if meta is None:
            meta = {}
        if not isinstance(meta, dict):
            self.report(prompt.rel, 2, "frontmatter must be a mapping of keys to values")
            return False
        if isinstance(node, yaml.MappingNode):
            for key_node, _ in node.value:
                prompt.key_lines[str(key_node.value)] = key_node.start_mark.line + 2
        prompt.meta = meta
        return True

    def check_frontmatter(self, prompt: Prompt) -> None:
        meta, rel = prompt.meta, prompt.rel
        lines = lambda path: prompt.line_of(str(path[0])) if path else 2  # noqa: E731
        if prompt.kind == "agent":
            for key in FACTS["agent_keys_ignored_for_plugins"]:
                if key in meta:
                    self.report(
                        rel,
                        prompt.line_of(key),
                        f"{key} is ignored for plugin agents "
                        "(Claude Code applies it only to .claude/agents/); remove it",
                    )
            meta = {
                k: v for k, v in meta.items() if k not in FACTS["agent_keys_ignored_for_plugins"]
            }
        self.schema_errors(rel, meta, f"{prompt.kind}.schema.json", lines)
        if prompt.kind == "skill":
            name = meta.get("name")
            if isinstance(name, str) and name != prompt.path.parent.name:
                self.report(
                    rel,
                    prompt.line_of("name"),
                    f"skill name {name!r} differs from its "
                    f"folder {prompt.path.parent.name!r}; they must be equal",
                )
        if "model" in meta:
            self.check_model(prompt, meta["model"])
        for key in ("tools", "disallowedTools", "allowed-tools", "disallowed-tools"):
            if key in meta:
                self.check_tools(prompt, key, meta[key])

    def check_model(self, prompt: Prompt, model: object) -> None:
        if not isinstance(model, str):
            return
        if model in FACTS["model_aliases"] or re.match(FACTS["model_id_pattern"], model):
            return
        aliases = ", ".join(FACTS["model_aliases"])
        self.report(
            prompt.rel,
            prompt.line_of("model"),
            f"model {model!r} is not one of "
            f"{aliases} nor a full model id such as claude-sonnet-4-5",
        )

    def check_tools(self, prompt: Prompt, key: str, value: object) -> None:
        if isinstance(value, str):
            items = split_tools(value)
        elif isinstance(value, list):
            items = [str(v).strip() for v in value]
        else:
            return
        for item in items:
            match = re.fullmatch(r"([A-Za-z_][A-Za-z0-9_]*)(\((.*)\))?", item)
            name = match.group(1) if match else item
            if name.startswith("mcp__") or name in FACTS["tools"]:
                if match and match.group(2) is not None and not match.group(3).strip():
                    self.report(
                        prompt.rel,
                        prompt.line_of(key),
                        f"{key}: {item!r} has an empty "
                        "pattern; write Bash(git status:*) or just Bash",
                    )
                continue
            self.report(
                prompt.rel,
                prompt.line_of(key),
                f"{key}: {item!r} is not a Claude Code "
                f"tool (known: {', '.join(FACTS['tools'])}, or mcp__server__tool)",
            )

    def check_names(self) -> None:
        commands = {p.name: p for p in self.prompts if p.kind == "command" and p.meta is not None}
        skills = {p.name: p for p in self.prompts if p.kind == "skill"}
        agents: dict[str, Prompt] = {}
        for prompt in self.prompts:
            if prompt.kind == "agent":
                if prompt.name in agents:
                    self.report(
                        prompt.rel,
                        prompt.line_of("name"),
                        f"agent name {prompt.name!r} is also used by {agents[prompt.name].rel}",
                    )
                agents[prompt.name] = prompt
        for name, skill in skills.items():
            if name in commands:
                self.report(
                    skill.rel,
                    skill.line_of("name"),
                    f"skill {name!r} has the name of "
                    f"command {commands[name].rel}; Claude Code silently runs the command "
                    "and the skill is unreachable: rename one",
                )
        for prompt in [*commands.values(), *skills.values()]:
            if prompt.name in FACTS["builtin_commands"]:
                self.report(
                    prompt.rel,
                    prompt.line_of("name"),
                    f"{prompt.kind} name "
                    f"{prompt.name!r} shadows Claude Code's built-in /{prompt.name}; "
                    "rename it",
                )

    def check_body(self, prompt: Prompt, names: dict[str, set[str]]) -> None:
        text, rel = prompt.text, prompt.rel
        line_at = lambda offset: text.count("\n", 0, offset) + 1  # noqa: E731
        for match in re.finditer(r"!\{", text):
            self.report(
                rel,
                line_at(match.start()),
                "'!{...}' is not Claude Code syntax and is "
                "sent to the model as text; to run a command before the prompt, write "
                "!`command` and allow it in allowed-tools (Bash(command:*))",
            )
        if prompt.kind in ("command", "skill"):
            allowed = prompt.meta.get("allowed-tools") or []
            allowed = (
                split_tools(allowed) if isinstance(allowed, str) else [str(a) for a in allowed]
            )
            for match in re.finditer(r"(?<![\w`])!`([^`\n]+)`", text):
                command = match.group(1).strip()
                if not bash_allowed(command, allowed):
                    self.report(
                        rel,
                        line_at(match.start()),
                        f"!`{command}` runs before the "
                        "prompt but allowed-tools has no Bash entry that permits it; "
                        f"add Bash({command.split()[0]}:*)",
                    )
        for match in re.finditer(r"\$\{CLAUDE_PLUGIN_ROOT\}/([^\s`'\")\]>]+)", text):
            target = match.group(1).rstrip(".,;:")
            if not (self.root / target).exists():
                self.report(
                    rel,
                    line_at(match.start()),
                    f"${{CLAUDE_PLUGIN_ROOT}}/{target} does not exist in the plugin",
                )
        namespace = re.escape(self.plugin_name)
        every = names["agent"] | names["skill"] | names["command"]
        for match in re.finditer(rf"(?<![\w-]){namespace}:([A-Za-z0-9_-]+)", text):
            if match.group(1) not in every:
                self.report(
                    rel,
                    line_at(match.start()),
                    f"{match.group(0)} names no agent, skill or command of this plugin",
                )
        for match in re.finditer(r"subagent_type\W{0,4}([A-Za-z0-9_:.-]+)", text):
            value = match.group(1)
            short = value.split(":", 1)[1] if value.startswith(self.plugin_name + ":") else None
            ours = ", ".join(f"{self.plugin_name}:{a}" for a in sorted(names["agent"]))
            if (short is None and value not in FACTS["builtin_agents"]) or (
                short is not None and short not in names["agent"]
            ):
                self.report(
                    rel,
                    line_at(match.start()),
                    f"subagent_type {value!r} names no "
                    f"agent Claude Code has (this plugin's agents: {ours or 'none'})",
                )
        for match in re.finditer(r"\bSkill\(([a-z0-9:-]+)\)", text):
            skill = match.group(1).split(":")[-1]
            if skill not in names["skill"]:
                self.report(
                    rel,
                    line_at(match.start()),
                    f"Skill({match.group(1)}) names no skill of this plugin",
                )
        for line, href in markdown_links(text):
            if re.match(r"^[a-z][a-z0-9+.-]*:", href, re.I) or href.startswith("#"):
                continue
            target = href.split("#", 1)[0]
            if not target:
                continue
            if not (prompt.path.parent / target).exists():
                self.report(
                    rel,
                    line,
                    f"link {href!r} points to nothing (links resolve from "
                    f"{self.rel(prompt.path.parent) or '.'}/)",
                )
        for key, kind in (("skills", "skill"), ("agent", "agent")):
            value = prompt.meta.get(key) if prompt.kind in ("agent", "skill") else None
            if value is None or (key == "agent" and prompt.kind != "skill"):
                continue
            wanted = split_tools(value) if isinstance(value, str) else value
            for name in wanted if isinstance(wanted, list) else []:
                short = str(name).split(":")[-1]
                if short not in names[kind] and not (
                    kind == "agent" and short in FACTS["builtin_agents"]
                ):
                    self.report(
                        rel, prompt.line_of(key), f"{key}: {name!r} names no {kind} of this plugin"
                    )

    def run(self) -> list[str]:
        self.check_manifests()
        self.collect()
        readable = []
        for prompt in self.prompts:
            if self.read_prompt(prompt):
                readable.append(prompt)
                if prompt.kind != "reference":
                    self.check_frontmatter(prompt)
        self.prompts = readable
        self.check_names()
        names = {kind: {p.name for p in readable if p.kind == kind} for kind in KINDS}
        for prompt in readable:
            self.check_body(prompt, names)
        return [f"{rel}:{line}: {message}" for rel, line, message in sorted(self.problems)]


def split_tools(value: str) -> list[str]:
    """Split a comma list of tools, keeping commas inside Bash(...) patterns."""
    items, depth, current = [], 0, ""
    for char in value:
        if char == "(":
            depth += 1
        elif char == ")":
            depth = max(depth - 1, 0)
        if char == "," and depth == 0:
            items.append(current.strip())
            current = ""
        else:
            current += char
    if current.strip():
        items.append(current.strip())
    return [i for i in items if i]


def bash_allowed(command: str, allowed: list[str]) -> bool:
    import fnmatch

    for entry in allowed:
        if entry == "Bash":
            return True
        match = re.fullmatch(r"Bash\((.*)\)", entry)
        if not match:
            continue
        pattern = match.group(1)
        if pattern.endswith(":*") and (
            command == pattern[:-2] or command.startswith(pattern[:-2] + " ")
        ):
            return True
        if fnmatch.fnmatchcase(command, pattern):
            return True
    return False


def markdown_links(text: str) -> list[tuple[int, str]]:
    from markdown_it import MarkdownIt

    links = []
    lines = text.split("\n")
    for token in MarkdownIt("commonmark").parse(text):
        if token.type != "inline" or not token.children:
            continue
        for child in token.children:
            if child.type in ("link_open", "image"):
                href = child.attrGet("href") or child.attrGet("src") or ""
                line = token.map[0] + 1 if token.map else 1
                if token.map:
                    for number in range(token.map[0], token.map[1]):
                        if href in lines[number]:
                            line = number + 1
                            break
                links.append((line, str(href)))
    return links


def json_lines(text: str):
    """Map a JSON path to the line of its last key (1 when it cannot be found)."""

    def find(path: list) -> int:
        position = 0
        for part in path:
            if isinstance(part, int):
                continue
            match = re.compile(rf'"{re.escape(str(part))}"\s*:').search(text, position)
            if not match:
                break
            position = match.start()
        return text.count("\n", 0, position) + 1 if path else 1

    return find


def main(argv: list[str]) -> int:
    root = Path(argv[0]) if argv else Path(__file__).resolve().parent.parent
    if not root.is_dir():
        print(f"{root}: not a folder; give the plugin's folder", file=sys.stderr)
        return 2
    problems = Validator(root).run()
    for line in problems:
        print(line)
    if problems:
        print(f"{len(problems)} problem(s)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
