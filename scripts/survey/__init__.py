"""The validator against the pinned Claude Code CLI on public plugins it was not written for.

    python scripts/survey run [--cache DIR] [--json FILE] [--only REPO]
    python scripts/survey show RULE [--part held-out]   # the findings of one rule, to judge

corpus.py    the repositories (a tuning part and a held-out part) and their plugin folders
cli.py       `claude plugin validate` on one folder: its messages and what it loads
ours.py      our validator on one folder, in this process
classify.py  each of our findings by what the CLI does with that file
report.py    per rule and part: counts, precision, recall; the time of both tools
"""
