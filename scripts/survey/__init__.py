"""The validator against the pinned Claude Code CLI on public plugins it was not written for.

    python scripts/survey run [--cache DIR] [--json FILE] [--only REPO]
    python scripts/survey show RULE [--part held-out]   # the findings of one rule, to judge
    python scripts/survey lines --part held-out [--jobs 8]  # every ! line put to the CLI

corpus.py    the repositories (tuning, seen to seen-17, held-out) and their plugin folders
cli.py       `claude plugin validate` on one folder: its messages and what it loads
ours.py      our validator on one folder, in this process
classify.py  each of our findings by what the CLI does with that file
probe.py     one `!` line put to the CLI: run without asking, or refused (nothing runs)
lines.py     every `!` line of a part probed: bang-not-allowed measured on all of them
main.py      per rule and part: counts; the time of both tools
"""
