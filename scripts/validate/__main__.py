"""python scripts/validate [PLUGIN_DIR]       one line per problem: path:line: [rule-id] message
python scripts/validate rules                the rules, each with its id and what it matches
python scripts/validate facts [--write]      re-read the facts from the pinned Claude Code CLI"""

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a folder: make the package importable by name
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from validate.cli import main  # noqa: E402

sys.exit(main(sys.argv[1:]))
