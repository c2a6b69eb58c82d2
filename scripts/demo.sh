#!/usr/bin/env bash
# The main job: scaffold a demo FastAPI app on SQLite with the plugin's scaffold script,
# start it with uvicorn, send a request that writes and one that reads, and stop it.
#   scripts/demo.sh [FOLDER]   # default: a new temporary folder, kept for a look afterwards
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
scripts/bootstrap.sh
py=$root/.venv/bin/python
project=${1:-$(mktemp -d -t fastapi-async-db-demo-XXXXXX)}
mkdir -p "$project/app"

echo "== scaffold into $project"
"$py" skills/async-db-layer/scripts/scaffold_db.py sqlite --project "$project" --package app/db --env
cp scripts/demo_app.py "$project/app/main.py"

port=$("$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
echo "== start uvicorn on 127.0.0.1:$port"
(cd "$project" && exec "$py" -m uvicorn app.main:app --host 127.0.0.1 --port "$port" \
  >"$project/server.log" 2>&1) &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  curl -fs "http://127.0.0.1:$port/notes" >/dev/null 2>&1 && break
  kill -0 $server 2>/dev/null || { cat "$project/server.log" >&2; exit 1; }
  sleep 0.1
done

echo "== write: POST /notes"
curl -fsS -X POST "http://127.0.0.1:$port/notes" -H 'content-type: application/json' \
  -d '{"text": "hello from fastapi-async-db"}'
echo
echo "== read: GET /notes"
curl -fsS "http://127.0.0.1:$port/notes"
echo
echo "== stop"
kill $server
wait $server 2>/dev/null || true
trap - EXIT
grep -q "Application shutdown complete" "$project/server.log" && echo "server stopped cleanly"
echo "the demo project stays in $project"
