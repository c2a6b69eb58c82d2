"""db_doctor: find the async database pitfalls in a FastAPI project's code and configuration,
reading it (AST and text) without importing or running anything. Standard library only; any
Python 3.8+ runs it.

project.py    the project read once: Python files parsed, other files as text
registry.py   the rules by id, each with the tested reference that shows the fix
nodes.py      small readings of the syntax tree the rules share
report.py     the command line: every rule run, one line per finding, exit 0, 1 or 2
the rules, one module per group: transactions, sessions, pools, packaging, models,
migrations, testing, loading, replicas
"""

from __future__ import annotations

from . import (  # noqa: F401 - each module registers its rules
    loading,
    migrations,
    models,
    packaging,
    pools,
    replicas,
    sessions,
    testing,
    transactions,
)
from .project import Project
from .registry import RULES
from .report import main, run

__all__ = ["RULES", "Project", "main", "run"]
