"""Install lines (`pip install`, `uv add`, `poetry add`) are checked, not run: every
package is declared in pyproject.toml, installed here with its extras, admitted by the
line's specifier, and carries the floor of the version contract."""

from __future__ import annotations

import json
import re
import shlex
import tomllib
from functools import cache

from .model import ROOT, Block

CONTRACT = ROOT / "skills" / "async-db-layer" / "scripts" / "contract.json"
INSTALL = re.compile(
    r"^(?:python3? -m )?(?:pip3? install|uv pip install|uv add|poetry add)\s+(.*)$"
)


def is_install_block(code: str) -> bool:
    lines = [ln.strip() for ln in code.splitlines() if ln.strip()]
    lines = [ln for ln in lines if not ln.startswith("#")]
    return bool(lines) and all(INSTALL.match(ln) for ln in lines)


@cache
def declared_requirements() -> dict[str, list]:
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    project = data.get("project", {})
    reqs = list(project.get("dependencies", []))
    for group in project.get("optional-dependencies", {}).values():
        reqs.extend(group)
    out: dict[str, list] = {}
    for text in reqs:
        req = Requirement(text)
        out.setdefault(canonicalize_name(req.name), []).append(req)
    return out


@cache
def contract_floors() -> dict[str, str]:
    """Package name -> the floor of the version contract that scaffold_db.py enforces."""
    from packaging.utils import canonicalize_name

    contract = json.loads(CONTRACT.read_text(encoding="utf-8"))
    return {canonicalize_name(n): spec["floor"] for n, spec in contract["packages"].items()}


def check_install_lines(block: Block) -> list[str]:
    problems = []
    for offset, raw in enumerate(block.code.splitlines(), start=1):
        match = INSTALL.match(raw.strip())
        if match:
            where = f"{block.rel}:{block.line + offset}"
            for word in shlex.split(match.group(1)):
                if not word.startswith("-"):
                    problems.extend(check_requirement(where, word))
    return problems


def check_requirement(where: str, word: str) -> list[str]:
    from importlib import metadata

    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name

    try:
        req = Requirement(word)
    except InvalidRequirement as exc:
        return [f"{where}: {word!r} is not a requirement: {exc}"]
    name = canonicalize_name(req.name)
    if name not in declared_requirements():
        return [
            f"{where}: {req.name} is not declared in pyproject.toml, so no test "
            "ran it; declare it there (and use it in a test) or drop it"
        ]
    try:
        dist = metadata.distribution(req.name)
    except metadata.PackageNotFoundError:
        return [f"{where}: {req.name} is declared but not installed here"]
    problems = check_extras(where, req, dist)
    floor = contract_floors().get(name)
    if floor and f">={floor}" not in {str(spec) for spec in req.specifier}:
        problems.append(
            f"{where}: write {req.name}>={floor}: every install line carries the floor "
            "of the version contract (skills/async-db-layer/scripts/contract.json)"
        )
    if req.specifier and not req.specifier.contains(dist.version, prereleases=True):
        problems.append(
            f"{where}: {req.name}{req.specifier} does not admit the tested version {dist.version}"
        )
    return problems


def check_extras(where: str, req, dist) -> list[str]:
    from packaging.utils import canonicalize_name

    problems = []
    extras = {canonicalize_name(e) for e in dist.metadata.get_all("Provides-Extra") or []}
    declared = declared_requirements()[canonicalize_name(req.name)]
    declared_extras = {canonicalize_name(e) for r in declared for e in r.extras}
    for extra in req.extras:
        if canonicalize_name(extra) not in extras:
            problems.append(
                f"{where}: {req.name} has no extra [{extra}] "
                f"(it has: {', '.join(sorted(extras)) or 'none'})"
            )
        if canonicalize_name(extra) not in declared_extras:
            problems.append(
                f"{where}: {req.name}[{extra}] is not what pyproject.toml installs; "
                "declare the extra there too"
            )
    return problems
