#!/usr/bin/env bash
# Start or stop the throwaway database servers the tests use, on loopback only:
# PostgreSQL, a streaming replica of it, PgBouncer in transaction mode with TLS in front of
# it (Supabase's pooler), and MariaDB.
#   scripts/servers.sh start   # prints nothing but errors; writes $SERVERS_DIR/env
#   scripts/servers.sh stop
#   scripts/servers.sh env     # the exports to source: TEST_POSTGRES_URL, TEST_REPLICA_URL,
#                              # TEST_PGBOUNCER_URL, TEST_MYSQL_URL
#   scripts/servers.sh cluster NAME PORT PORT2   # a small primary and its streaming standby
#                      # of a test's own, to pause, stop, kill or promote; prints both URLs
#   scripts/servers.sh drop NAME                 # stop them and remove them
set -euo pipefail

SERVERS_DIR=${SERVERS_DIR:-/tmp/fastapi-async-db-servers}
PG_PORT=${TEST_PG_PORT:-54329}
PG_PASSWORD=snippets
REPLICA_PORT=${TEST_REPLICA_PORT:-54330}
BOUNCER_PORT=${TEST_PGBOUNCER_PORT:-64329}
MYSQL_PORT=${TEST_MYSQL_PORT:-33069}

pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

# initdb (once) and start a PostgreSQL server: its data folder and port; logs beside it
start_primary() {
  local data=$1 port=$2 bin
  bin=$(pg_bin)
  if [ -z "$bin" ]; then
    echo "servers: no PostgreSQL server binaries under /usr/lib/postgresql; run scripts/bootstrap.sh" >&2
    return 1
  fi
  mkdir -p "$(dirname "$data")"
  [ "$(id -u)" = 0 ] && chown postgres: "$(dirname "$data")" "$SERVERS_DIR/pg"
  if [ ! -f "$data/PG_VERSION" ]; then
    printf '%s\n' "$PG_PASSWORD" >"$SERVERS_DIR/pg/pwfile"
    [ "$(id -u)" = 0 ] && chown postgres: "$SERVERS_DIR/pg/pwfile"
    as_pg "$bin/initdb" -D "$data" -U postgres --pwfile="$SERVERS_DIR/pg/pwfile" \
      --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >"$data.initdb.log"
  fi
  run_pg "$data" "$port"
}

run_pg() {
  local data=$1 port=$2 bin
  bin=$(pg_bin)
  if ! as_pg "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    # a standby must start with its primary's max_connections or recovery aborts
    as_pg "$bin/pg_ctl" -D "$data" -l "$data.log" -w -t 60 \
      -o "-p $port -k $SERVERS_DIR/pg -c listen_addresses=127.0.0.1 -c max_connections=200" \
      start >/dev/null || { cat "$data.log" >&2; return 1; }
  fi
}

start_pg() {
  mkdir -p "$SERVERS_DIR/pg"
  start_primary "$SERVERS_DIR/pg/data" "$PG_PORT"
}

# A streaming replica of the server on $source_port: pg_basebackup -R writes primary_conninfo
# and standby.signal (-c fast: no wait for a spread checkpoint)
start_replica() {
  local data=$1 port=$2 source_port=$3 bin
  bin=$(pg_bin)
  if [ ! -f "$data/PG_VERSION" ]; then
    as_pg env PGPASSWORD="$PG_PASSWORD" "$bin/pg_basebackup" -h 127.0.0.1 -p "$source_port" \
      -U postgres -D "$data" -R -X stream -c fast >"$data.basebackup.log" 2>&1 \
      || { cat "$data.basebackup.log" >&2; return 1; }
  fi
  run_pg "$data" "$port"
}

stop_server() {
  local data=$1 bin
  bin=$(pg_bin)
  if [ -n "$bin" ] && [ -f "$data/PG_VERSION" ]; then
    as_pg "$bin/pg_ctl" -D "$data" -m fast -w stop >/dev/null 2>&1 || true
  fi
}

stop_pg() { stop_server "$SERVERS_DIR/pg/data"; }

start_pgbouncer() {
  local dir=$SERVERS_DIR/pgbouncer
  command -v pgbouncer >/dev/null || [ -x /usr/sbin/pgbouncer ] || {
    echo "servers: pgbouncer not installed; run scripts/bootstrap.sh" >&2; return 1; }
  mkdir -p "$dir"
  if [ ! -f "$dir/server.key" ]; then
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj /CN=127.0.0.1 \
      -keyout "$dir/server.key" -out "$dir/server.crt" >/dev/null 2>&1
  fi
  printf '"postgres" "%s"\n' "$PG_PASSWORD" >"$dir/userlist.txt"
  cat >"$dir/pgbouncer.ini" <<INI
[databases]
* = host=127.0.0.1 port=$PG_PORT
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $BOUNCER_PORT
unix_socket_dir =
auth_type = scram-sha-256
auth_file = $dir/userlist.txt
pool_mode = transaction
max_client_conn = 500
default_pool_size = 10
client_tls_sslmode = require
client_tls_key_file = $dir/server.key
client_tls_cert_file = $dir/server.crt
logfile = $dir/pgbouncer.log
pidfile = $dir/pgbouncer.pid
ignore_startup_parameters = extra_float_digits,options
INI
  [ "$(id -u)" = 0 ] && chown -R postgres: "$dir"
  if [ -f "$dir/pgbouncer.pid" ] && kill -0 "$(cat "$dir/pgbouncer.pid")" 2>/dev/null; then return 0; fi
  as_pg "$(command -v pgbouncer || echo /usr/sbin/pgbouncer)" -d "$dir/pgbouncer.ini" \
    || { cat "$dir/pgbouncer.log" >&2; return 1; }
}

stop_pgbouncer() {
  local pid=$SERVERS_DIR/pgbouncer/pgbouncer.pid
  [ -f "$pid" ] && kill "$(cat "$pid")" 2>/dev/null || true
}

start_mysql() {
  local dir=$SERVERS_DIR/mysql daemon
  daemon=$(command -v mariadbd || echo /usr/sbin/mariadbd)
  [ -x "$daemon" ] || { echo "servers: mariadb-server not installed; run scripts/bootstrap.sh" >&2; return 1; }
  mkdir -p "$dir"
  local owner=()
  [ "$(id -u)" = 0 ] && { chown mysql: "$dir"; owner=(--user=mysql); }
  if [ ! -d "$dir/data/mysql" ]; then
    mariadb-install-db --datadir="$dir/data" "${owner[@]}" --auth-root-authentication-method=socket \
      --skip-test-db >"$dir/install.log" 2>&1 || { cat "$dir/install.log" >&2; return 1; }
  fi
  if [ -S "$dir/mysql.sock" ] && mariadb-admin --socket="$dir/mysql.sock" ping >/dev/null 2>&1; then
    return 0
  fi
  "$daemon" --no-defaults --datadir="$dir/data" --socket="$dir/mysql.sock" --port="$MYSQL_PORT" \
    --bind-address=127.0.0.1 --pid-file="$dir/mysql.pid" --log-error="$dir/error.log" \
    --skip-name-resolve --max-connections=300 "${owner[@]}" >/dev/null 2>&1 &
  for _ in $(seq 60); do
    mariadb-admin --socket="$dir/mysql.sock" ping >/dev/null 2>&1 && break
    sleep 0.5
  done
  mariadb --socket="$dir/mysql.sock" -u root -e "
    CREATE USER IF NOT EXISTS 'app'@'127.0.0.1' IDENTIFIED BY '$PG_PASSWORD';
    GRANT ALL PRIVILEGES ON *.* TO 'app'@'127.0.0.1' WITH GRANT OPTION;" \
    || { cat "$dir/error.log" >&2; return 1; }
}

stop_mysql() {
  local sock=$SERVERS_DIR/mysql/mysql.sock
  [ -S "$sock" ] && mariadb-admin --socket="$sock" -u root shutdown >/dev/null 2>&1 || true
}

write_env() {
  mkdir -p "$SERVERS_DIR"
  {
    printf 'export TEST_POSTGRES_URL=%s\n' \
      "postgresql+asyncpg://postgres:$PG_PASSWORD@127.0.0.1:$PG_PORT/postgres"
    [ -f "$SERVERS_DIR/pg/replica/standby.signal" ] && printf 'export TEST_REPLICA_URL=%s\n' \
      "postgresql+asyncpg://postgres:$PG_PASSWORD@127.0.0.1:$REPLICA_PORT/postgres"
    [ -f "$SERVERS_DIR/pgbouncer/pgbouncer.pid" ] && printf 'export TEST_PGBOUNCER_URL=%s\n' \
      "postgresql+asyncpg://postgres:$PG_PASSWORD@127.0.0.1:$BOUNCER_PORT/postgres"
    [ -S "$SERVERS_DIR/mysql/mysql.sock" ] && printf 'export TEST_MYSQL_URL=%s\n' \
      "mysql+aiomysql://app:$PG_PASSWORD@127.0.0.1:$MYSQL_PORT/mysql"
    true
  } >"$SERVERS_DIR/env"
}

case "${1:-}" in
  start)
    status=0
    start_pg || status=1
    if [ $status = 0 ]; then
      start_replica "$SERVERS_DIR/pg/replica" "$REPLICA_PORT" "$PG_PORT" || status=1
    fi
    if [ $status = 0 ]; then start_pgbouncer || status=1; fi
    start_mysql || status=1
    write_env
    exit $status
    ;;
  stop)
    stop_pgbouncer; stop_mysql
    for mark in "$SERVERS_DIR"/pg/*/test-cluster; do
      [ -e "$mark" ] && { stop_server "${mark%/*}/standby"; stop_server "${mark%/*}/primary"; }
    done
    stop_server "$SERVERS_DIR/pg/replica"
    stop_pg; rm -f "$SERVERS_DIR/env" ;;
  env) cat "$SERVERS_DIR/env" ;;
  cluster)
    [[ "${2:-}" =~ ^c[a-z0-9_-]*$ && "${3:-}" =~ ^[0-9]+$ && "${4:-}" =~ ^[0-9]+$ ]] || {
      echo "usage: scripts/servers.sh cluster NAME PORT STANDBY_PORT (NAME: c then a-z, 0-9, - or _)" >&2; exit 2; }
    dir=$SERVERS_DIR/pg/$2
    mkdir -p "$dir"
    touch "$dir/test-cluster"  # stop stops it, promoted or not
    start_primary "$dir/primary" "$3" && start_replica "$dir/standby" "$4" "$3"
    printf '%s\n' "postgresql+asyncpg://postgres:$PG_PASSWORD@127.0.0.1:$3/postgres" \
      "postgresql+asyncpg://postgres:$PG_PASSWORD@127.0.0.1:$4/postgres" ;;
  drop)
    [[ "${2:-}" =~ ^c[a-z0-9_-]*$ ]] || { echo "usage: scripts/servers.sh drop NAME" >&2; exit 2; }
    stop_server "$SERVERS_DIR/pg/$2/standby"; stop_server "$SERVERS_DIR/pg/$2/primary"
    rm -rf "${SERVERS_DIR:?}/pg/$2" ;;
  *) echo "usage: scripts/servers.sh start|stop|env|cluster NAME PORT PORT|drop NAME" >&2; exit 2 ;;
esac
