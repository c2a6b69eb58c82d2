#!/usr/bin/env python3
"""db_doctor: find the async database pitfalls in a FastAPI project's code and configuration,
reading it (AST and text) without importing or running anything.

    python3 db_doctor.py [PROJECT] [--rules]

One line per finding: `path:line: [rule-id] what is wrong; what to do (see REFERENCE)`, the
reference being the plugin's tested document that shows the fix. Exit status 1 when there
are findings, 0 when there are none, 2 on bad input (no such folder, no Python project, an
unreadable file). Standard library only; any Python 3.8+ runs it. The rules live in the
`doctor` package beside this file, one module per group.
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from doctor import RULES, Project, main, run  # noqa: E402, F401 - the package beside this file

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
