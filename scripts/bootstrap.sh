#!/usr/bin/env bash
# Install everything the maintainer tools need, idempotently:
#   .venv/   Python 3.11+ with the packages pyproject.toml declares (and its [test] extra)
#   .venv-floor/  the contract's floor: its oldest Python with every package at its floor
#   .tools/  the pinned Claude Code CLI from npm (@anthropic-ai/claude-code)
#   the PostgreSQL server (Debian's package), when it is missing and this is root with apt
set -euo pipefail
cd "$(dirname "$0")/.."

CLAUDE_CODE_VERSION=2.1.332 # then: python scripts/validate facts --write
PYTHON=${PYTHON:-python3}

say() { printf 'bootstrap: %s\n' "$*"; }

if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  say "needs Python 3.11 or newer as \$PYTHON (found: $("$PYTHON" --version 2>&1 || echo none))" >&2
  exit 1
fi

if [ ! -x .venv/bin/python ]; then
  say "creating .venv"
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)
if [ ! -f "$stamp" ]; then
  say "installing Python packages (pyproject.toml, with [test])"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
  .venv/bin/python -m pip install --quiet --disable-pip-version-check ".[test]"
  rm -f .venv/.installed-* && touch "$stamp"
fi

# The floor set: the oldest Python and library versions the contract supports
# (skills/async-db-layer/scripts/contract.json), so that every block also runs where users are on the floor.
FLOOR_PYTHON=${FLOOR_PYTHON:-python$("$PYTHON" -c 'import json; print(json.load(open("skills/async-db-layer/scripts/contract.json"))["python"]["floor"])')}
floor_stamp=.venv-floor/.installed-$(cat pyproject.toml skills/async-db-layer/scripts/contract.json | sha256sum | cut -c1-16)
if [ ! -f "$floor_stamp" ]; then
  if command -v "$FLOOR_PYTHON" >/dev/null; then
    say "installing the floor set into .venv-floor ($FLOOR_PYTHON, skills/async-db-layer/scripts/contract.json)"
    rm -rf .venv-floor
    "$FLOOR_PYTHON" -m venv .venv-floor
    "$PYTHON" -c 'import json
for name, spec in json.load(open("skills/async-db-layer/scripts/contract.json"))["packages"].items():
    print(name + "==" + spec["floor"])' >.venv-floor/constraints.txt
    .venv-floor/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
    .venv-floor/bin/python -m pip install --quiet --disable-pip-version-check \
      -c .venv-floor/constraints.txt ".[test]"
    touch "$floor_stamp"
  else
    say "no $FLOOR_PYTHON: the floor run skips (fails under CI)" >&2
  fi
fi

# The package tools users run, for the tests that ask a project's own resolver (uv, poetry)
UV_VERSION=0.13.9
POETRY_VERSION=2.5.1
if [ ! -x .tools/py/bin/uv ] || [ "$(.tools/py/bin/uv --version | cut -d' ' -f2)" != "$UV_VERSION" ] ||
  ! .tools/py/bin/poetry --version 2>/dev/null | grep -q "$POETRY_VERSION"; then
  say "installing uv $UV_VERSION and poetry $POETRY_VERSION into .tools/py"
  rm -rf .tools/py
  "$PYTHON" -m venv .tools/py
  .tools/py/bin/python -m pip install --quiet --disable-pip-version-check \
    "uv==$UV_VERSION" "poetry==$POETRY_VERSION"
fi

claude=.tools/node_modules/.bin/claude
if [ ! -x "$claude" ] || [ "$("$claude" --version 2>/dev/null | cut -d' ' -f1)" != "$CLAUDE_CODE_VERSION" ]; then
  if command -v npm >/dev/null; then
    say "installing @anthropic-ai/claude-code@$CLAUDE_CODE_VERSION into .tools"
    npm install --prefix .tools --no-audit --no-fund --loglevel=error \
      "@anthropic-ai/claude-code@$CLAUDE_CODE_VERSION" >/dev/null
  else
    say "npm not found: the tests that run the real Claude Code CLI will skip (fail under CI)" >&2
  fi
fi

# From Debian's packages: the database servers (PostgreSQL, PgBouncer, MariaDB), openssl for
# PgBouncer's TLS certificate, curl for the demo.
need=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
command -v pgbouncer >/dev/null || [ -x /usr/sbin/pgbouncer ] || need+=(pgbouncer)
command -v mariadbd >/dev/null || [ -x /usr/sbin/mariadbd ] || need+=(mariadb-server)
command -v openssl >/dev/null || need+=(openssl)
command -v curl >/dev/null || need+=(curl)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    say "installing ${need[*]} (apt-get)"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  else
    say "missing ${need[*]}: install them (Debian packages); the tests that need them" \
      "skip (fail under CI)" >&2
  fi
fi
say "ready"
