"""```bash: run in the temporary project with `bash -euo pipefail`; a block of install
lines only is checked against pyproject.toml and the version contract instead."""

from __future__ import annotations

import linecache
import os
import re
import subprocess
import sys
from pathlib import Path

from ..install import check_install_lines, is_install_block
from ..model import Block, BlockFailure
from . import Context, handles


@handles("bash")
def run_bash(ctx: Context, block: Block) -> None:
    if is_install_block(block.code):
        problems = check_install_lines(block)
        if problems:
            raise BlockFailure("\n".join(problems))
        return
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # import=no files are seen loaded by their .pyc
    proc = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", block.code],
        cwd=ctx.project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if proc.returncode != 0:
        output = proc.stdout + proc.stderr
        frames = document_frames(ctx, output)
        head = f"{block.where}: bash block exited {proc.returncode}"
        raise BlockFailure("\n".join([head, *frames, output.strip()[-3000:]]))


def document_frames(ctx: Context, output: str) -> list[str]:
    """Traceback lines of a process that point into files written from this document, as
    the markdown lines they came from (an import=no file fails in the tool that loads it)."""
    frames = []
    for match in re.finditer(r'File "([^"]+)", line (\d+)', output):
        origin = ctx.file_map.get(str(Path(match.group(1)).resolve()))
        if origin is not None:
            line = origin.line + int(match.group(2))
            text = linecache.getline(origin.rel, line).strip()
            frames.append(f"  {origin.rel}:{line}: {text}  (file={origin.attrs['file']})")
    return frames
