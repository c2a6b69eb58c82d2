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
status=0
# A whole run uses both cores: each test file (each prompt document) stays on one worker,
# so a document is set up once. With arguments, pytest runs as asked.
parallel=()
[ $# -eq 0 ] && parallel=(-n "${TEST_WORKERS:-2}" --dist loadfile)
.venv/bin/python -m pytest "${parallel[@]}" --durations=15 "$@" || status=$?
# The floor run: the prompts' blocks, the scaffold and the settings on the contract's oldest
# versions.
# Only for a whole run (no arguments); CI needs .venv-floor.
if [ $# -eq 0 ]; then
  if [ -x .venv-floor/bin/python ]; then
    echo "test: the floor set ($(.venv-floor/bin/python --version), skills/async-db-layer/scripts/contract.json)"
    FLOOR_RUN=1 .venv-floor/bin/python -m pytest -p no:cacheprovider "${parallel[@]}" \
      commands skills agents references tests/test_scaffold.py tests/test_preflight.py \
      tests/test_read_session.py tests/test_replicas.py \
      tests/test_settings_properties.py -k "not ruff" || status=$?
  elif [ "${CI:-}" = true ]; then
    echo "test: CI=true and no .venv-floor; bootstrap.sh must create it" >&2
    status=1
  fi
fi
exit $status
