"""Whether a file written with import=no was loaded by some later process."""

from __future__ import annotations

import importlib.util
from pathlib import Path


def loaded_version(path: Path, code: str) -> bool:
    """Whether some Python process compiled the file at `path` while it held `code`: its
    bytecode cache records the source's mtime and size (PEP 552, timestamp-based)."""
    try:
        if path.read_text(encoding="utf-8") != code:
            return False
        stat = path.stat()
        header = Path(importlib.util.cache_from_source(str(path))).read_bytes()[:16]
    except (OSError, ValueError):
        return False
    if len(header) < 16 or int.from_bytes(header[4:8], "little") != 0:
        return False
    mtime = int.from_bytes(header[8:12], "little")
    size = int.from_bytes(header[12:16], "little")
    return mtime == int(stat.st_mtime) & 0xFFFFFFFF and size == stat.st_size & 0xFFFFFFFF
