"""skills/async-db-layer/scripts/layout.py: where a project imports its code from, read from
how it runs (start commands in any of the files projects keep them in, the FastAPI CLI's
rule, the tests' imports), the names a new package would hide, and SQLModel use. Project
shapes are generated: a layout, a way to start, and tests or none."""

from __future__ import annotations

import tempfile
from pathlib import Path

from conftest import PRODUCT, load_script
from hypothesis import given, settings
from hypothesis import strategies as st

layout = load_script(PRODUCT / "layout.py", "layout")

# layout name -> (files, the app's dotted module from the import root, the import root,
# where the new package goes)
LAYOUTS = {
    "src is a package": (
        {"src/__init__.py": "", "src/main.py": "app = 1\n"},
        "src.main",
        ".",
        "src/db",
    ),
    "src layout": (
        {"src/app/__init__.py": "", "src/app/main.py": "app = 1\n"},
        "app.main",
        "src",
        "src/app/db",
    ),
    "flat app": ({"app/__init__.py": "", "app/main.py": "app = 1\n"}, "app.main", ".", "app/db"),
    "monorepo backend": (
        {"backend/app/__init__.py": "", "backend/app/main.py": "app = 1\n"},
        "app.main",
        "backend",
        "backend/app/db",
    ),
}


def start(module: str, root: str, how: str) -> dict[str, str]:
    """Where and how the project writes its start command, run from its import root."""
    at = "" if root == "." else root + "/"
    spec = f"{module}:app"
    path = module.replace(".", "/")
    return {
        "uvicorn in a script": {f"{at}start.sh": f"#!/bin/sh\nexec uvicorn {spec} --port 80\n"},
        "Dockerfile exec form": {
            f"{at}Dockerfile": f'FROM python\nCMD ["uvicorn", "{spec}", "--host", "0.0.0.0"]\n'
        },
        "gunicorn in a Procfile": {
            f"{at}Procfile": f"web: gunicorn -k uvicorn.workers.UvicornWorker {spec}\n"
        },
        "fastapi run a file": {f"{at}Makefile": f"run:\n\tfastapi run {path}.py\n"},
        "uvicorn with --app-dir": {"Makefile": f"run:\n\tuvicorn {spec} --app-dir {root}\n"},
    }[how]


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from(sorted(LAYOUTS)),
    st.sampled_from(
        [
            "uvicorn in a script",
            "Dockerfile exec form",
            "gunicorn in a Procfile",
            "fastapi run a file",
            "uvicorn with --app-dir",
            None,
        ]
    ),
    st.booleans(),
)
def test_the_import_root_is_where_the_project_runs_from(shape: str, how, tests: bool) -> None:
    files, module, root, package = LAYOUTS[shape]
    files = dict(files)
    if how:
        files.update(start(module, root, how))
    at = "" if root == "." else root + "/"
    if tests:
        files[f"{at}tests/test_app.py"] = f"from {module} import app\n"
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp)
        for rel, text in files.items():
            (project / rel).parent.mkdir(parents=True, exist_ok=True)
            (project / rel).write_text(text)
        fallback = project / "fallback"
        found = layout.import_root(project, package, fallback)
        if how or (tests and "." in module):
            assert found.folder.resolve() == (project / root).resolve(), (files, found)
            assert found.why
        else:
            assert found.folder == fallback


def test_a_module_of_the_same_name_is_named_and_a_free_name_offered(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "database.py").write_text("engine = None\n")
    assert layout.shadowed(tmp_path, "src/database", tmp_path) == "src/database.py"
    assert layout.free_name(tmp_path, "src/database") == "src/db"
    (tmp_path / "src" / "db").mkdir()
    assert layout.free_name(tmp_path, "src/database") == "src/db_layer"
    assert layout.shadowed(tmp_path, "src/db_layer", tmp_path) is None


def test_sqlmodel_use_is_found_where_it_is_imported(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "models.py").write_text("import os\nfrom sqlmodel import SQLModel\n")
    assert layout.uses_sqlmodel(tmp_path, "app/db") == "app/models.py:2"
    (tmp_path / "app" / "models.py").write_text("# sqlmodel is not used here\nimport os\n")
    assert layout.uses_sqlmodel(tmp_path, "app/db") is None
