#!/usr/bin/env bash
# The benchmark: round trips per warm request (counted at the wire) and latency on loopback
# and at an injected 1 ms round trip, for every taught variant and the raw asyncpg floor.
#   scripts/bench.sh                      # prints the table
#   scripts/bench.sh --json bench.json    # also writes it as JSON
#   scripts/bench.sh --requests 500       # more timed requests per endpoint (default 200)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh >/dev/null
export SERVERS_DIR=${SERVERS_DIR:-/tmp/fastapi-async-db-bench}
export TEST_PG_PORT=${TEST_PG_PORT:-54339} TEST_PGBOUNCER_PORT=${TEST_PGBOUNCER_PORT:-64339}
export TEST_REPLICA_PORT=${TEST_REPLICA_PORT:-54340}
export TEST_MYSQL_PORT=${TEST_MYSQL_PORT:-33079}
trap 'scripts/servers.sh stop' EXIT
scripts/servers.sh start
# shellcheck disable=SC1091
. "$SERVERS_DIR/env"
.venv/bin/python scripts/bench "$@"
echo
echo "Read replicas (scripts/bench_replicas.py): stale reads, where reads go, round trips"
.venv/bin/python scripts/bench_replicas.py
