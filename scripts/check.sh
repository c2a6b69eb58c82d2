#!/usr/bin/env bash
# The main job: validate the plugin, then run or check every code block of every prompt.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
.venv/bin/python scripts/validate
exec scripts/test.sh commands skills agents references "$@"
