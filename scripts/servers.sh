#!/usr/bin/env bash
# Start or stop the throwaway database servers the tests use, on loopback only.
#   scripts/servers.sh start   # prints nothing but errors; writes $SERVERS_DIR/env
#   scripts/servers.sh stop
#   scripts/servers.sh env     # the exports to source: TEST_POSTGRES_URL
set -euo pipefail

SERVERS_DIR=${SERVERS_DIR:-/tmp/fastapi-async-db-servers}
PG_PORT=${TEST_PG_PORT:-54329}
PG_PASSWORD=snippets

pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

start_pg() {
  local bin data=$SERVERS_DIR/pg/data
  bin=$(pg_bin)
  if [ -z "$bin" ]; then
    echo "servers: no PostgreSQL server binaries under /usr/lib/postgresql; run scripts/bootstrap.sh" >&2
    return 1
  fi
  mkdir -p "$SERVERS_DIR/pg"
  [ "$(id -u)" = 0 ] && chown postgres: "$SERVERS_DIR/pg"
  if [ ! -f "$data/PG_VERSION" ]; then
    printf '%s\n' "$PG_PASSWORD" >"$SERVERS_DIR/pg/pwfile"
    [ "$(id -u)" = 0 ] && chown postgres: "$SERVERS_DIR/pg/pwfile"
    as_pg "$bin/initdb" -D "$data" -U postgres --pwfile="$SERVERS_DIR/pg/pwfile" \
      --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >"$SERVERS_DIR/pg/initdb.log"
  fi
  if ! as_pg "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    as_pg "$bin/pg_ctl" -D "$data" -l "$SERVERS_DIR/pg/server.log" -w -t 60 \
      -o "-p $PG_PORT -k $SERVERS_DIR/pg -c listen_addresses=127.0.0.1 -c max_connections=200" \
      start >/dev/null || { cat "$SERVERS_DIR/pg/server.log" >&2; return 1; }
  fi
}

stop_pg() {
  local bin data=$SERVERS_DIR/pg/data
  bin=$(pg_bin)
  if [ -n "$bin" ] && [ -f "$data/PG_VERSION" ]; then
    as_pg "$bin/pg_ctl" -D "$data" -m fast -w stop >/dev/null 2>&1 || true
  fi
}

write_env() {
  mkdir -p "$SERVERS_DIR"
  printf 'export TEST_POSTGRES_URL=%s\n' \
    "postgresql+asyncpg://postgres:$PG_PASSWORD@127.0.0.1:$PG_PORT/postgres" >"$SERVERS_DIR/env"
}

case "${1:-}" in
  start) start_pg && write_env ;;
  stop) stop_pg; rm -f "$SERVERS_DIR/env" ;;
  env) cat "$SERVERS_DIR/env" ;;
  *) echo "usage: scripts/servers.sh start|stop|env" >&2; exit 2 ;;
esac
