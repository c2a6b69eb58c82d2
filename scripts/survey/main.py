"""Run both validators over the corpus, classify, and report."""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from . import classify, cli, corpus, ours


def survey(cache: Path, only: str | None, jobs: int, fresh: bool = False) -> dict:
    folders, missing = corpus.folders(cache, only)
    kept = None if fresh else cache.parent / "cli-verdicts"
    with ThreadPoolExecutor(jobs) as pool:
        verdicts = list(pool.map(lambda f: cli.validate(f.path, cache=kept), folders))
    rows = []
    ours_seconds = 0.0
    for folder, verdict in zip(folders, verdicts, strict=True):
        found, seconds, crashed = ours.validate(folder.path)
        ours_seconds += seconds
        names = agent_names(folder.path)
        flagged = {f.rel for f in found}
        rows.append(
            {
                "repo": folder.repo,
                "part": folder.part,
                "folder": folder.path.relative_to(cache).as_posix(),
                "cli_passed": verdict.passed,
                "cli_seconds": round(verdict.seconds, 3),
                "ours_seconds": round(seconds, 4),
                "crashed": crashed,
                "findings": [
                    {
                        "rel": f.rel,
                        "line": f.line,
                        "rule": f.rule,
                        "message": f.message,
                        "class": classify.classify(f.rel, verdict, names),
                    }
                    for f in found
                ],
                "missed": classify.missed(verdict, flagged, nested_in(folder.path, folders)),
                "cli": [m.__dict__ for m in verdict.messages],
            }
        )
    return {"missing": missing, "folders": rows}


def nested_in(path: Path, folders: list) -> tuple[str, ...]:
    """The surveyed plugin folders inside `path`, relative to it."""
    return tuple(
        f.path.relative_to(path).as_posix()
        for f in folders
        if f.path != path and path in f.path.parents
    )


def agent_names(folder: Path) -> dict[str, str]:
    from validate.engine import read_plugin

    plugin = read_plugin(folder.resolve())
    return {p.rel: p.name for p in plugin.prompts if p.kind == "agent"}


def table(result: dict) -> str:
    counts: dict[tuple[str, str], Counter] = defaultdict(Counter)
    for row in result["folders"]:
        for f in row["findings"]:
            counts[(f["rule"], row["part"])][f["class"]] += 1
    lines = [
        "| rule | part | findings | reported | fails to load | loads fine |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    from validate.rules import RULES

    for (rule, part), c in sorted(counts.items()):
        total = sum(c.values())
        shown = rule if RULES[rule].default else f"{rule} (opt-in)"
        lines.append(
            f"| {shown} | {part} | {total} | {c[classify.REPORTED]} | {c[classify.FAILS]} "
            f"| {c[classify.LOADS]} |"
        )
    rows = result["folders"]
    for part in corpus.PARTS:
        mine = [r for r in rows if r["part"] == part]
        lines.append(
            f"\n{part}: {len(mine)} folders; CLI {sum(r['cli_seconds'] for r in mine):.1f} s, "
            f"ours {sum(r['ours_seconds'] for r in mine):.1f} s; crashed "
            f"{sum(1 for r in mine if r['crashed'])}; missed CLI errors "
            f"{sum(len(r['missed']) for r in mine)}; slowest of ours "
            f"{max((r['ours_seconds'] for r in mine), default=0):.2f} s"
        )
    if result["missing"]:
        lines.append(f"not fetched: {', '.join(result['missing'])}")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="survey")
    parser.add_argument("verb", choices=["run", "show", "lines"])
    parser.add_argument("rule", nargs="?")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/survey/trees"))
    parser.add_argument("--json", type=Path, default=Path("/tmp/survey/result.json"))
    parser.add_argument("--only")
    parser.add_argument("--part", default="tuning")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--fresh", action="store_true", help="ask the CLI again (timing)")
    options = parser.parse_args(argv)
    if options.verb == "run":
        result = survey(options.cache, options.only, options.jobs, options.fresh)
        options.json.write_text(json.dumps(result, indent=1))
        print(table(result))
        return 0
    if options.verb == "lines":
        from . import lines

        claude = str(Path(__file__).resolve().parents[2] / ".tools/node_modules/.bin/claude")
        found = lines.measure(claude, options.cache, options.part, options.jobs)
        print(json.dumps(found, indent=1))
        return 0
    result = json.loads(options.json.read_text())
    for row in result["folders"]:
        if row["part"] != options.part:
            continue
        for f in row["findings"]:
            if f["rule"] == options.rule:
                print(f"{row['folder']}/{f['rel']}:{f['line']}: [{f['class']}] {f['message']}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
