#!/usr/bin/env bash
# The test command (README, and .ci/run): install what is missing, start the database
# servers, run pytest (arguments go to pytest), stop the servers.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
export SERVERS_DIR=${SERVERS_DIR:-/tmp/fastapi-async-db-servers}
if scripts/servers.sh start; then
  trap 'scripts/servers.sh stop' EXIT
  # shellcheck disable=SC1091
  . "$SERVERS_DIR/env"
else
  echo "test: database servers did not start; tests that need them skip (fail under CI=true)" >&2
fi
.venv/bin/python -m pytest "$@"
