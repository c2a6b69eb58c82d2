"""`python scripts/snippets ...` (or `python -m snippets` with scripts/ on the path)."""

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a folder: make the package importable by name
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from snippets.cli import main  # noqa: E402

sys.exit(main(sys.argv[1:]))
