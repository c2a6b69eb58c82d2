#!/usr/bin/env bash
# The test command (README, and .ci/run): install what is missing, start the database
# servers, run pytest (arguments go to pytest), stop the servers.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
export SERVERS_DIR=${SERVERS_DIR:-/tmp/fastapi-async-db-servers}
trap 'scripts/servers.sh stop' EXIT
scripts/servers.sh start ||
  echo "test: a database server did not start; tests that need it skip (fail under CI=true)" >&2
# shellcheck disable=SC1091
[ -f "$SERVERS_DIR/env" ] && . "$SERVERS_DIR/env"
.venv/bin/python -m pytest "$@"
