#!/usr/bin/env bash
# Start or stop the throwaway database servers the tests use, on loopback only:
# PostgreSQL, PgBouncer in transaction mode with TLS in front of it (Supabase's pooler),
# and MariaDB.
#   scripts/servers.sh start   # prints nothing but errors; writes $SERVERS_DIR/env
#   scripts/servers.sh stop
#   scripts/servers.sh env     # the exports to source: TEST_POSTGRES_URL, TEST_PGBOUNCER_URL,
#                              # TEST_MYSQL_URL
set -euo pipefail

SERVERS_DIR=${SERVERS_DIR:-/tmp/fastapi-async-db-servers}
PG_PORT=${TEST_PG_PORT:-54329}
PG_PASSWORD=snippets
BOUNCER_PORT=${TEST_PGBOUNCER_PORT:-64329}
MYSQL_PORT=${TEST_MYSQL_PORT:-33069}

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
    if [ $status = 0 ]; then start_pgbouncer || status=1; fi
    start_mysql || status=1
    write_env
    exit $status
    ;;
  stop) stop_pgbouncer; stop_mysql; stop_pg; rm -f "$SERVERS_DIR/env" ;;
  env) cat "$SERVERS_DIR/env" ;;
  *) echo "usage: scripts/servers.sh start|stop|env" >&2; exit 2 ;;
esac
