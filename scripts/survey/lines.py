"""Every !`line` of the corpus's commands and skills, put to the pinned CLI (probe.py), and
`bang-not-allowed` measured on all of them: precision and recall per part, not a sample."""

from __future__ import annotations

import re
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from validate.engine import read_plugin
from validate.rules.body import prose
from validate.rules.frontmatter import split_tools
from validate.shell_lines import refusal

from . import corpus, probe

BANG = re.compile(r"(?<![\w`])!`([^`\n]+)`")  # as the rule reads a line


def shell_lines(folder: Path):
    """(line, allowed-tools as written, kind) of each `!` line in the folder's prompts."""
    for prompt in read_plugin(folder.resolve()).prompts:
        if prompt.kind not in ("command", "skill"):
            continue
        allowed = prompt.meta.get("allowed-tools") or ""
        if not isinstance(allowed, str):
            allowed = [str(a) for a in allowed] if isinstance(allowed, list) else str(allowed)
        for match in BANG.finditer(prose(prompt)):
            yield match.group(1).strip(), allowed, prompt.kind


def measure(claude: str, cache: Path, part: str, jobs: int) -> dict:
    folders, _ = corpus.folders(cache, None)
    cases = sorted(
        {
            (line, tuple(a) if isinstance(a, list) else a, kind)
            for f in folders
            if f.part == part
            for line, a, kind in shell_lines(f.path)
        }
    )

    def verdict(case):
        line, allowed, kind = case
        try:
            return probe.ask(
                claude, line, list(allowed) if isinstance(allowed, tuple) else allowed, kind
            )
        except RuntimeError as exc:
            return f"unclear: {exc}"

    with ThreadPoolExecutor(jobs) as pool:
        verdicts = list(pool.map(verdict, cases))
    counts: Counter = Counter()
    wrong, missed, unclear = [], [], []
    for (line, allowed, kind), said_cli in zip(cases, verdicts, strict=True):
        if said_cli.startswith("unclear"):
            unclear.append((line, said_cli))
            continue
        tools = split_tools(list(allowed) if isinstance(allowed, tuple) else allowed)
        ours = refusal(line, tools) is not None
        counts[(ours, said_cli == "refused")] += 1
        if ours and said_cli == "ran":
            wrong.append((line, allowed, kind))
        if not ours and said_cli == "refused":
            missed.append((line, allowed, kind))
    flagged = counts[(True, True)] + counts[(True, False)]
    refused = counts[(True, True)] + counts[(False, True)]
    return {
        "part": part,
        "lines": len(cases),
        "refused by the CLI": refused,
        "flagged": flagged,
        "precision": round(counts[(True, True)] / flagged, 3) if flagged else None,
        "recall": round(counts[(True, True)] / refused, 3) if refused else None,
        "wrong": wrong,
        "missed": missed,
        "unclear": unclear,
    }
