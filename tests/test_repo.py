"""The repository's own hygiene: our code passes ruff, and CI runs the README's test command."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import snippets
from conftest import PRODUCT, ROOT, need_server


def ruff(*args: str) -> subprocess.CompletedProcess:
    binary = Path(sys.executable).parent / "ruff"
    command = [str(binary) if binary.exists() else shutil.which("ruff") or "ruff", *args]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_our_code_passes_ruff() -> None:
    ours = ("scripts", "tests", "hooks", "skills/async-db-layer/scripts")
    checked = ruff("check", "--no-cache", *ours)
    assert checked.returncode == 0, checked.stdout
    formatted = ruff("format", "--check", "--no-cache", *ours)
    assert formatted.returncode == 0, formatted.stdout


def test_ci_runs_the_readme_test_command() -> None:
    readme = snippets.parse_document(ROOT / "README.md")
    commands = [
        line.split("#")[0].strip()
        for block in readme.blocks
        if block.lang == "bash"
        for line in block.code.splitlines()
    ]
    assert "scripts/demo.sh" in commands and "scripts/test.sh" in commands, commands
    ci = (ROOT / ".ci/run").read_text(encoding="utf-8")
    assert "exec bash scripts/test.sh" in ci
    for script in ("scripts/test.sh", "scripts/demo.sh", "scripts/check.sh", ".ci/run"):
        assert (ROOT / script).stat().st_mode & 0o111, f"{script} is not executable"


def test_the_readme_shows_the_version_contract() -> None:
    """One source, contract.json beside scaffold_db.py; the README's table renders it."""
    sys.path.insert(0, str(PRODUCT))
    try:
        import preflight
    finally:
        sys.path.pop(0)
    assert preflight.contract_table() in (ROOT / "README.md").read_text(encoding="utf-8")


def test_pyproject_declares_the_contract_floors() -> None:
    """pyproject.toml's floors are the contract's, so .venv-floor installs exactly them."""
    import json
    import tomllib

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    contract = json.loads((PRODUCT / "contract.json").read_text(encoding="utf-8"))
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = {canonicalize_name(r.name): r for r in map(Requirement, project["dependencies"])}
    for name, spec in contract["packages"].items():
        req = declared[canonicalize_name(name)]
        assert f">={spec['floor']}" in {str(s) for s in req.specifier}, (name, str(req))
    python = contract["python"]["floor"]
    assert project["requires-python"] == f">={python}"


def test_prompts_claim_no_version_below_the_floor() -> None:
    """A prompt that names a version the floor run does not reach claims what no test ran."""
    import json
    import re

    from packaging.version import Version

    contract = json.loads((PRODUCT / "contract.json").read_text(encoding="utf-8"))
    floors = {name.lower(): Version(spec["floor"]) for name, spec in contract["packages"].items()}
    mention = re.compile(
        r"\b(SQLAlchemy|FastAPI|SQLModel|Alembic|pydantic)\s+(\d+\.\d+(?:\.\d+)?)\b"
    )
    below = []
    for path in snippets.prompt_files():
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            for name, version in mention.findall(line):
                floor = floors[name.lower()].release[: version.count(".") + 1]  # "2.0": series
                if Version(version).release < floor and "below" not in line:
                    below.append(f"{path.relative_to(ROOT)}:{number}: {name} {version}")
    assert not below, below


def test_the_connections_module_is_one_code() -> None:
    """db/core/connections.py of the layer is the code of references/connections.md."""

    def block(rel: str, path: str) -> str:
        doc = snippets.parse_document(ROOT / rel)
        return next(b.code for b in doc.blocks if b.attrs.get("file") == path)

    layer = block("skills/async-db-layer/references/db-package.md", "db/core/connections.py")
    assert layer == block("references/connections.md", "app/connections.py")


def test_the_fault_modules_are_one_code() -> None:
    """db/session/errors.py and idempotency.py of the layer are the code of
    references/faults.md; the layer imports `writes` from its own package."""

    def block(rel: str, path: str) -> str:
        doc = snippets.parse_document(ROOT / rel)
        return next(b.code for b in doc.blocks if b.attrs.get("file") == path)

    layer = "skills/async-db-layer/references/db-package.md"
    errors = block(layer, "db/session/errors.py")
    assert "from ..core.connections import writes\n" in errors
    own = errors.replace("from ..core.connections import", "from app.connections import")
    assert own == block("references/faults.md", "app/faults.py")
    assert block(layer, "db/session/idempotency.py") == block(
        "references/faults.md", "app/idempotency.py"
    )


def heading_slug(text: str) -> str:
    """The anchor GitHub (and Claude Code's renderer) gives a heading."""
    import re

    text = text.strip().lower().replace("`", "")
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def test_long_references_open_with_a_section_head() -> None:
    """A reference over 300 lines opens with `| section | when you need it |`, listing every
    `## ` section, each link landing on a heading of the file."""
    import re

    problems = []
    for path in sorted([*ROOT.glob("references/*.md"), *ROOT.glob("skills/*/references/*.md")]):
        lines = path.read_text(encoding="utf-8").split("\n")
        if len(lines) <= 300:
            continue
        doc = snippets.parse_document(path)
        fenced = {n for b in doc.blocks for n in range(b.line, b.line + b.code.count("\n") + 2)}
        headings = [
            line[3:]
            for n, line in enumerate(lines, start=1)
            if line.startswith("## ") and n not in fenced
        ]
        head = next(
            (i for i, line in enumerate(lines[:12]) if line.startswith("| section |")), None
        )
        rel = path.relative_to(ROOT)
        if head is None:
            problems.append(f"{rel}: no `| section | when you need it |` head in its first lines")
            continue
        links = re.findall(r"^\| \[[^\]]+\]\(#([^)]+)\)", "\n".join(lines[head : head + 40]), re.M)
        slugs = [heading_slug(h) for h in headings]
        problems += [f"{rel}: #{link} is no heading" for link in links if link not in slugs]
        problems += [
            f"{rel}: section {h!r} is not in the head"
            for h, s in zip(headings, slugs, strict=True)
            if s not in links
        ]
    assert not problems, problems


def test_one_session_dependency_idiom() -> None:
    """Every session dependency the prompts teach rolls back on BaseException (a cancelled
    request raises CancelledError, which is not an Exception), and says so."""
    taught = []
    for _doc, block in snippets.iter_blocks():
        for match in re.finditer(
            r"except (?:Base)?Exception\b.*\n\s+await session\.rollback\(\)", block.code
        ):
            taught.append((block.where, match.group(0).split("\n")[0].strip()))
    assert taught, "no session dependency found"
    idiom = "except BaseException:  # a cancelled request too (CancelledError)"
    assert [w for w, line in taught if line != idiom] == [], taught


def test_skill_descriptions_lead_with_the_user_s_words() -> None:
    """Each skill's description opens with when to use it, and they tell the three apart."""
    import yaml

    descriptions = {}
    for path in sorted((ROOT / "skills").glob("*/SKILL.md")):
        meta = yaml.safe_load(path.read_text(encoding="utf-8").split("---")[1])
        descriptions[path.parent.name] = meta["description"]
        assert meta["description"].startswith("Use "), path
    assert "not SQLModel" in descriptions["async-sqlalchemy"]
    assert "SQLModel" in descriptions["async-sqlmodel"]


def test_the_readme_layout_matches_the_tree() -> None:
    """Every path the README's layout table names exists, and every top-level entry and
    every entry of scripts/ and tests/ that git tracks is named in it."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme.split("### Layout", 1)[1].split("\n### ", 1)[0]
    rows = [line for line in table.splitlines() if line.startswith("| `")]
    named = set(re.findall(r"`([^`\s]+)`", "\n".join(row.split(" | ")[0] for row in rows)))
    assert named, "no layout table"
    assert [n for n in named if not (ROOT / n.rstrip("/")).exists()] == []
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    entries = {p.split("/")[0] for p in tracked} - {"README.md", "LICENSE", "pyproject.toml"}
    entries -= {".gitignore"}
    entries |= {"/".join(p.split("/")[:2]) for p in tracked if p.startswith(("scripts/", "tests/"))}
    missing = sorted(e for e in entries if e.split("/")[-1] not in table)
    assert missing == [], f"not in the README's layout table: {missing}"


# --- the marketplace's relevance signal, in the JavaScript engine Claude Code runs it in ----

PACKAGES = [
    "fastapi", "FastAPI", "FASTAPI", "fastapi-users", "fastapi_utils", "sqlalchemy", "SQLAlchemy",
    "sqlalchemy-utils", "sqlmodel", "SQLModel", "django", "flask", "asyncpg", "alembic",
    "my.fastapi", "pydantic",
]  # fmt: skip


def manifest(rng, names: list[str]) -> tuple[str, str]:
    """A requirements file or a pyproject.toml (PEP 621 or Poetry) declaring `names`."""
    spec = lambda n: n + rng.choice(["", ">=0.100", "[asyncio]", " ==2.0.36", "~=1.0"])  # noqa: E731
    form = rng.choice(["requirements", "pep621", "poetry"])
    if form == "requirements":
        return "requirements.txt", "".join(f"{spec(n)}\n" for n in names)
    if form == "pep621":
        deps = ",\n".join(f'    "{spec(n)}"' for n in names)
        return "pyproject.toml", f'[project]\nname = "app"\ndependencies = [\n{deps}\n]\n'
    deps = "".join(f'{n} = "^1.0"\n' for n in names)
    return "pyproject.toml", f"[tool.poetry.dependencies]\npython = '^3.10'\n{deps}"


def declares(names: list[str]) -> bool:
    """The meaning: FastAPI and SQLAlchemy or SQLModel among the dependencies, any case."""
    lowered = {n.lower() for n in names}
    return "fastapi" in lowered and bool(lowered & {"sqlalchemy", "sqlmodel"})


def test_relevance_signals_match_fastapi_projects_with_sqlalchemy_or_sqlmodel() -> None:
    """manifestDeps in marketplace.json, evaluated by node (Claude Code's RegExp: `file` with
    the i flag, `pattern` without) over 400 manifests from a small grammar and the fixture
    projects' own: relevant exactly when FastAPI and SQLAlchemy or SQLModel are declared."""
    import random

    node = shutil.which("node")
    if node is None:
        need_server("node", "install Node.js (npm comes with it; bootstrap.sh needs it too)")
    entry = json.loads((ROOT / ".claude-plugin/marketplace.json").read_text(encoding="utf-8"))
    [signal] = entry["plugins"][0]["relevance"]["signals"]["manifestDeps"]
    rng = random.Random(7)
    cases = []
    for _ in range(400):
        names = rng.sample(PACKAGES, rng.randint(0, 5))
        cases.append((*manifest(rng, names), declares(names)))
    for path in (ROOT / "tests/fixtures/projects").glob("*/**/*"):
        if path.name in ("pyproject.toml", "requirements.txt"):
            text = path.read_text(encoding="utf-8")
            names = re.findall(r"(?im)^\s*\"?([A-Za-z][\w.-]*)", text)
            names += re.findall(r'"([A-Za-z][\w.-]*)[^"]*"', text)
            cases.append((str(path), text, declares(names)))
    script = (
        "const [file, pattern, cases] = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
        "const f = new RegExp(file, 'i'), p = new RegExp(pattern);"
        "console.log(JSON.stringify(cases.map(([n, t]) => f.test(n) && p.test(t))));"
    )
    done = subprocess.run(
        [node, "-e", script],
        input=json.dumps([signal["file"], signal["pattern"], [c[:2] for c in cases]]),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    verdicts = json.loads(done.stdout)
    wrong = [c for c, v in zip(cases, verdicts, strict=True) if v != c[2]]
    assert wrong == [], wrong[:5]
    assert 50 < sum(verdicts) < len(verdicts) - 50  # both answers are exercised
