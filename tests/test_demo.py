"""The README's main job: scripts/demo.sh scaffolds, serves, writes, reads and stops."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from conftest import ROOT


def test_demo_writes_reads_and_stops(tmp_path: Path) -> None:
    project = tmp_path / "demo"
    done = subprocess.run(
        ["bash", str(ROOT / "scripts" / "demo.sh"), str(project)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    lines = done.stdout.splitlines()
    written = json.loads(lines[lines.index("== write: POST /notes") + 1])
    read = json.loads(lines[lines.index("== read: GET /notes") + 1])
    assert written == {"id": 1, "text": "hello from fastapi-async-db"}
    assert read == [written]
    assert "server stopped cleanly" in lines
    assert (project / "app" / "db" / "core" / "engine.py").is_file()
    assert (project / "app.db").is_file()  # the note is in SQLite, not in memory
