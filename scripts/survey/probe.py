"""Ask the pinned Claude Code CLI whether it runs a prompt's !`line` without asking.

A throwaway plugin holds one command (or skill) whose body is the line, under the given
allowed-tools, and a PreSkillShellCommand hook that denies every line it is shown. The CLI
checks a line's permission first and asks the hook only about a line it would run, so:
"refused" when it stops the prompt ("Shell command permission check failed"), "ran" when the
hook was asked (the line itself never runs: nothing of a surveyed plugin is executed).
Offline, the CLI expands the prompt and then stops at "Not logged in".
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

DENY = json.dumps(
    {
        "hookSpecificOutput": {
            "hookEventName": "PreSkillShellCommand",
            "permissionDecision": "deny",
            "permissionDecisionReason": "probe",
        }
    }
)
PRINT = f"print({DENY!r})"
HOOKS = {
    "hooks": {
        "PreSkillShellCommand": [
            {
                "matcher": "Bash",
                "hooks": [
                    {"type": "command", "command": "python3", "args": ["-c", f"print({DENY!r})"]}
                ],
            }
        ]
    }
}


def ask(claude: str, line: str, allowed: str = "", kind: str = "command") -> str:
    """'ran' or 'refused' (see the module's docstring); raises if the CLI says neither."""
    base = Path(tempfile.mkdtemp(prefix="probe-"))
    try:
        plugin = base / "plugin"
        (plugin / ".claude-plugin").mkdir(parents=True)
        (plugin / ".claude-plugin" / "plugin.json").write_text('{"name": "probe"}')
        (plugin / "hooks").mkdir()
        (plugin / "hooks" / "hooks.json").write_text(json.dumps(HOOKS))
        front = "---\nname: t\ndescription: t\n"
        front += f"allowed-tools: {json.dumps(allowed)}\n---\n" if allowed else "---\n"
        target = plugin / "commands" / "t.md"
        if kind == "skill":
            target = plugin / "skills" / "t" / "SKILL.md"
        target.parent.mkdir(parents=True)
        target.write_text(front + "Out: !`" + line + "`\n", encoding="utf-8")
        project = base / "project"
        (project / "sub").mkdir(parents=True)
        for name, text in (("a.py", "x = 1\n"), ("README.md", "hi\n"), ("sub/n.txt", "n\n")):
            (project / name).write_text(text)
        subprocess.run(["git", "init", "-q"], cwd=project, check=True)
        home = base / "home"
        home.mkdir()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "CLAUDE_"))}
        env.update(HOME=str(home), CI="true", NO_COLOR="1")
        proc = subprocess.run(
            [claude, "-p", "/probe:t", "--plugin-dir", str(plugin)],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        output = proc.stdout + proc.stderr
        if "Shell command permission check failed" in output:
            return "refused"
        said = "".join(p.read_text(encoding="utf-8") for p in home.rglob("projects/*/*.jsonl"))
        if "blocked by hook" in said and "probe" in said:
            return "ran"
        raise RuntimeError(f"the CLI neither refused nor ran {line!r}: {output[-400:]}")
    finally:
        shutil.rmtree(base, ignore_errors=True)
