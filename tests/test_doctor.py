"""db_doctor.py and the `doctor` package beside it (skills/async-db-layer/scripts/): for
every rule, the samples of tests/doctor_corpus/RULE/hit-*.txt (two at least) are found and
the look-alikes miss-*.txt are not;
what the plugin's own references teach comes out clean; bad input exits 2 with a message."""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import snippets
from conftest import PRODUCT, ROOT, load_script, materialize

DOCTOR = PRODUCT / "db_doctor.py"
CACHES = shutil.ignore_patterns("__pycache__")
CORPUS = ROOT / "tests" / "doctor_corpus"
SAMPLES = sorted(CORPUS.glob("*/*.txt"))


doctor = load_script(DOCTOR, "db_doctor")  # puts its folder on the path: the package loads
from doctor import sessions  # noqa: E402


def rules_found(project: Path) -> list[str]:
    findings, _ = doctor.run(project)
    return [line.split("[", 1)[1].split("]", 1)[0] for line in findings]


def test_every_rule_has_two_hits_and_two_look_alikes() -> None:
    assert len(doctor.RULES) >= 16
    assert sorted(p.name for p in CORPUS.iterdir()) == sorted(doctor.RULES)
    for rule_id in doctor.RULES:
        names = sorted(p.stem for p in (CORPUS / rule_id).glob("*.txt"))
        assert {"hit-1", "hit-2", "miss-1", "miss-2"} <= set(names), rule_id
        assert all(re.fullmatch(r"(hit|miss)-\d+", n) for n in names), names
    for _, reference in doctor.RULES.values():
        assert (ROOT / reference).is_file(), reference


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_sample(sample: Path, tmp_path: Path) -> None:
    rule_id = sample.parent.name
    found = rules_found(materialize(sample, tmp_path))
    if sample.stem.startswith("hit"):
        assert rule_id in found, f"{rule_id} missed {sample.name}: {found}"
    else:
        assert rule_id not in found, f"{rule_id} fired on the look-alike {sample.name}"


def test_findings_name_file_line_rule_and_the_fix(tmp_path: Path) -> None:
    project = materialize(CORPUS / "expire-on-commit" / "hit-1.txt", tmp_path)
    done = subprocess.run(
        [sys.executable, str(DOCTOR), str(project)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1, done.stderr
    assert done.stdout.startswith(
        "app/database.py:4: [expire-on-commit] async_sessionmaker without expire_on_commit=False"
    ), done.stdout
    assert "(see skills/async-sqlalchemy/references/fastapi-app.md)" in done.stdout


def test_what_the_references_teach_comes_out_clean(tmp_path: Path) -> None:
    """Every document's files (file= blocks) and its other Python blocks, as a project."""
    count, every = 0, []
    for path in snippets.prompt_files():
        doc = snippets.parse_document(path)
        folder = tmp_path / doc.rel.replace("/", "__")
        for backend in doc.backends:
            snippets.materialize(doc, backend, folder)
        plain = [b for b in doc.blocks if b.kind == "python" and "file" not in b.attrs]
        for block in plain:
            (folder / f"block_{block.line}.py").parent.mkdir(parents=True, exist_ok=True)
            (folder / f"block_{block.line}.py").write_text(block.code, encoding="utf-8")
        if folder.exists():
            findings, project = doctor.run(folder)
            count += len(project.python)
            every += [f"{doc.rel}: {line}" for line in findings]
    assert every == []
    assert count > 100, count


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda tmp: tmp / "nowhere", "is not a folder"),
        (lambda tmp: tmp, "holds no Python project"),
        (lambda tmp: (tmp / "README.md").write_text("# hi\n") and tmp, "holds no Python project"),
    ],
    ids=["missing", "empty", "no-python"],
)
def test_bad_input_exits_2_with_a_message(tmp_path: Path, make, message: str) -> None:
    target = make(tmp_path)
    done = subprocess.run(
        [sys.executable, str(DOCTOR), str(target)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2 and message in done.stderr, (done.returncode, done.stderr)
    assert "Traceback" not in done.stderr


def test_an_unreadable_file_exits_2() -> None:
    import os
    import shutil
    import tempfile

    top = Path(tempfile.mkdtemp(prefix="doctor-"))  # a folder another user may enter
    try:
        top.chmod(0o755)
        project = top / "project"
        project.mkdir(mode=0o755)
        (project / "app.py").write_text("x = 1\n")
        secret = project / "db.py"
        secret.write_text("y = 2\n")
        secret.chmod(0)
        command = [sys.executable, str(DOCTOR), str(project)]
        if os.geteuid() == 0:  # root reads anything: run as nobody, with a copy of the script
            tool = top / "tool"
            shutil.copytree(DOCTOR.parent / "doctor", tool / "doctor", ignore=CACHES)
            shutil.copy(DOCTOR, tool / "db_doctor.py")
            for path in [tool, *tool.rglob("*")]:
                path.chmod(0o755 if path.is_dir() else 0o644)
            command = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]
            command += ["/usr/bin/python3", str(tool / "db_doctor.py"), str(project)]
        done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    finally:
        shutil.rmtree(top, ignore_errors=True)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "db.py: cannot read" in done.stderr and "Traceback" not in done.stderr


def test_code_that_does_not_parse_is_skipped_with_a_note(tmp_path: Path) -> None:
    (tmp_path / "new.py").write_text("def f[T](x: T) -> T: return x\n(\n")
    (tmp_path / "ok.py").write_text("x = 1\n")
    done = subprocess.run(
        [sys.executable, str(DOCTOR), str(tmp_path)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0 and "new.py: not read as Python" in done.stderr, done.stderr


def test_each_file_is_read_once_on_a_project_of_500_files(tmp_path: Path) -> None:
    """Counted, not timed: the doctor parses each file once (scripts/bench_doctor.py times it)."""
    sample = (CORPUS / "lazy-load-after-close" / "hit-1.txt").read_text(encoding="utf-8")
    for index in range(250):
        materialize_text(sample, tmp_path / f"pkg{index}")
    parses = []
    original = ast.parse

    def counting(*args, **kwargs):
        parses.append(kwargs.get("filename"))
        return original(*args, **kwargs)

    ast.parse = counting
    try:
        findings, project = doctor.run(tmp_path)
    finally:
        ast.parse = original
    assert len(project.python) == 500 and len(parses) == 500 == len(set(parses))
    assert len(findings) == 250


def materialize_text(text: str, dest: Path) -> None:
    sample = dest.with_suffix(".txt")
    sample.parent.mkdir(parents=True, exist_ok=True)
    sample.write_text(text, encoding="utf-8")
    materialize(sample, dest)
    sample.unlink()


def test_runs_on_the_oldest_python_users_may_have(tmp_path: Path) -> None:
    from conftest import find_python

    python = find_python("3.8")
    if python is None:
        pytest.skip("no Python 3.8 here")
    for sample in sorted(CORPUS.glob("*/hit-1.txt")):
        project = materialize(sample, tmp_path / sample.parent.name)
        done = subprocess.run(
            [python, str(DOCTOR), str(project)], capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 1 and f"[{sample.parent.name}]" in done.stdout, (
            sample,
            done.stdout,
            done.stderr,
        )


# --- properties over generated code ----------------------------------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

IDENTIFIERS = st.from_regex(r"[a-z][a-z0-9_]{0,12}", fullmatch=True).filter(
    lambda n: n not in {"async", "await", "def", "for", "if", "in", "is", "or", "and", "not"}
)
OTHER_OPTIONS = st.lists(
    st.sampled_from(["autoflush=False", "future=True", "class_=AsyncSession", "info={}"]),
    unique=True,
)


def doctor_on(files: dict[str, str]) -> list[str]:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        for rel, text in files.items():
            (Path(tmp) / rel).parent.mkdir(parents=True, exist_ok=True)
            (Path(tmp) / rel).write_text(text, encoding="utf-8")
        findings, _ = doctor.run(Path(tmp))
    return [line.split("[", 1)[1].split("]", 1)[0] for line in findings]


AFTER_COMMIT = {  # how a route uses its object around the commit -> whether it reads it after
    "attribute": ("    await session.commit()\n    return {'id': item.id}\n", True),
    "returned": ("    await session.commit()\n    return item\n", True),
    "refreshed": (
        "    await session.commit()\n    await session.refresh(item)\n    return item\n",
        False,
    ),
    "read before": ("    found = item.id\n    await session.commit()\n    return found\n", False),
    "no commit": ("    await session.flush()\n    return item.id\n", False),
}


@settings(max_examples=150, deadline=None)
@given(
    IDENTIFIERS, OTHER_OPTIONS, st.booleans(), st.booleans(), st.sampled_from(sorted(AFTER_COMMIT))
)
def test_expire_on_commit_is_found_exactly_when_it_is_missing_and_matters(
    name, options, keep, factory, use
):
    arguments = ["engine", *options] + (["expire_on_commit=False"] if keep else [])
    maker = "async_sessionmaker" if factory else "AsyncSession"
    code = f"{name} = {maker}({', '.join(arguments)})\n"
    tail, reads_after = AFTER_COMMIT[use]
    route = "async def create(session):\n    item = Item(name='x')\n    session.add(item)\n" + tail
    found = "expire-on-commit" in doctor_on({"app/db.py": code, "app/routes.py": route})
    assert found is (not keep and reads_after), code + route


@settings(max_examples=150, deadline=None)
@given(IDENTIFIERS, st.booleans(), st.booleans(), st.sampled_from(["Depends", "Security"]))
def test_commit_after_response_is_found_exactly_when_scope_is_missing(name, scoped, commits, dep):
    body = "        yield session\n" + ("        await session.commit()\n" if commits else "")
    code = (
        f"async def {name}():\n    async with SessionLocal() as session:\n{body}\n\n"
        f"Dep = Annotated[AsyncSession, {dep}({name}"
        + (', scope="function"' if scoped else "")
        + ")]\n"
    )
    found = "commit-after-response" in doctor_on({"app/deps.py": code})
    assert found is (commits and not scoped), code


@settings(max_examples=200, deadline=None)
@given(
    st.text(max_size=400), st.sampled_from(["app/x.py", "alembic.ini", "pyproject.toml", ".env"])
)
def test_any_file_content_is_read_without_an_error(text: str, name: str) -> None:
    assert isinstance(doctor_on({name: text, "app/main.py": "x = 1\n"}), list)


SESSIONS = st.sampled_from(["session", "db", "db_session", "self.session", "self.db_session"])
SYNC = sorted(sessions.SYNC_METHODS)
ASYNC = sorted(sessions.COROUTINES - sessions.SYNC_METHODS)


@settings(max_examples=150, deadline=None)
@given(SESSIONS, st.sampled_from(SYNC + ASYNC), st.booleans(), IDENTIFIERS)
def test_await_is_flagged_exactly_where_it_does_not_belong(receiver, method, awaited, other):
    """A plain method awaited, or a coroutine method left un-awaited, on a session; the same
    shapes on something that is not a session pass."""
    engine = 'engine = create_async_engine("postgresql+asyncpg://db/app")\n'
    call = f"{'await ' if awaited else ''}{receiver}.{method}(x)"
    head = "async def work(self, session, db, db_session, x):\n"
    body = f"{head}    await {receiver}.flush()\n    {call}\n"
    found = doctor_on({"app/db.py": engine, "app/work.py": body})
    plain = method in sessions.SYNC_METHODS
    assert ("awaited-sync-method" in found) is (plain and awaited), body
    assert ("unawaited-session-call" in found) is (not plain and not awaited), body
    name = other if other not in {"session", "db", "db_session", "s"} else "dao"
    if not name.endswith("session"):
        elsewhere = body.replace(f"{receiver}.", f"{name}.").replace("(self, ", f"(self, {name}, ")
        found = doctor_on({"app/db.py": engine, "app/work.py": elsewhere})
        assert "awaited-sync-method" not in found and "unawaited-session-call" not in found, (
            elsewhere
        )
