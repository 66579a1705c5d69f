#!/usr/bin/env bash
# Ingestion benchmark in the production configuration: PostgreSQL + Redis, uvicorn ASGI workers.
#
#   bench/ingest/run.sh            # defaults below; override with environment variables
#
# WORKERS   uvicorn worker processes (default 2 = the machine's cores)
# DURATION  seconds per wrk run (default 20)
# LEGS      distinct flight legs the events spread over (default 2000 single, 50000 batches)
# BENCH_DB  PostgreSQL database (default ag_ingest_bench, created and migrated here)
# REDIS_URL default redis://127.0.0.1:6379/2
# FRESH_DB  1 = drop and recreate BENCH_DB first (each run adds ~100k events and ~50k legs,
#           and a bigger database is a slower one)
set -euo pipefail
cd "$(dirname "$0")/../.."

WORKERS=${WORKERS:-2}
DURATION=${DURATION:-20}
PORT=${PORT:-8765}
BENCH_DB=${BENCH_DB:-ag_ingest_bench}
export REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379/2}
export DATABASE_URL=${DATABASE_URL_BENCH:-postgres://postgres@127.0.0.1:5432/$BENCH_DB}
export DEBUG=0 SECRET_KEY=bench-only-secret-key-bench-only-secret-key-0123456789 ALLOWED_HOSTS=127.0.0.1
export LOG_LEVEL=WARNING DJANGO_SETTINGS_MODULE=alertguardian.settings
# Each of a worker's HTTP_THREADS request threads keeps its own connection (alertguardian/asgi_http.py);
# DB_POOL_MAX_SIZE=N uses a psycopg pool instead (measured slower: 323 vs 372 single events/s).
export DB_POOL_MAX_SIZE=${DB_POOL_MAX_SIZE:-0} HTTP_THREADS=${HTTP_THREADS:-8}

if ! command -v wrk >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq wrk >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
fi
test -x .venv/bin/uvicorn || .venv/bin/pip install -q -r requirements.txt

if [ "${FRESH_DB:-0}" = 1 ]; then dropdb -h 127.0.0.1 -U postgres --if-exists "$BENCH_DB"; fi
psql -h 127.0.0.1 -U postgres -tc "SELECT 1 FROM pg_database WHERE datname = '$BENCH_DB'" | grep -q 1 \
  || createdb -h 127.0.0.1 -U postgres "$BENCH_DB"
.venv/bin/python manage.py migrate --noinput -v0
TOKEN=$(.venv/bin/python bench/ingest/prepare.py)
export TOKEN

echo "== machine: $(nproc) cores, load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== server: uvicorn alertguardian.asgi:application --workers $WORKERS (uvloop, httptools), HTTP_THREADS=$HTTP_THREADS"
.venv/bin/uvicorn alertguardian.asgi:application --host 127.0.0.1 --port "$PORT" --workers "$WORKERS" \
  --no-access-log --log-level warning &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; wait $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 1 60); do
  curl -fs "http://127.0.0.1:$PORT/health/" >/dev/null 2>&1 && break
  sleep 0.5
done

URL="http://127.0.0.1:$PORT"
# Warm-up (connections, first legs), not measured.
BATCH=1 wrk -t2 -c16 -d3s -s bench/ingest/events.lua "$URL" >/dev/null

# CPU seconds used by the server's worker processes and by PostgreSQL's backends for the
# bench database: a measure that, unlike throughput, does not depend on what else runs.
ticks() { local t=0 p; for p in "$@"; do t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0))); done; echo "$t"; }
workers() { pgrep -P "$SERVER" | tr '\n' ' '; }
backends() { pgrep -f "postgres: .* $BENCH_DB " | tr '\n' ' '; }
measure() {  # measure LABEL BATCH LEGS CONNECTIONS
  local before_w before_p out requests hz
  hz=$(getconf CLK_TCK)
  before_w=$(ticks $(workers)); before_p=$(ticks $(backends))
  out=$(BATCH=$2 LEGS=$3 wrk -t2 -c"$4" -d"${DURATION}s" --timeout 30s --latency -s bench/ingest/events.lua "$URL")
  requests=$(echo "$out" | awk '/requests in/ {print $1}')
  echo "== $1"
  echo "$out" | grep -E "events/s|latency p|unexpected"
  awk -v w=$(( $(ticks $(workers)) - before_w )) -v p=$(( $(ticks $(backends)) - before_p )) -v n="$requests" -v hz="$hz" \
    'BEGIN { printf "cpu per request: server %.2f ms, postgres %.2f ms\n", w / hz * 1000 / n, p / hz * 1000 / n }'
}

measure "single events, 16 connections, ${DURATION}s" 1 "${LEGS:-2000}" 16
measure "batches of 500 events, 4 connections, ${DURATION}s" 500 "${LEGS:-50000}" 4

echo "== for scale: GET /health/ (no database), 16 connections"
before=$(ticks $(workers))
n=$(wrk -t2 -c16 -d5s "$URL/health/" | awk '/requests in/ {print $1}')
awk -v w=$(( $(ticks $(workers)) - before )) -v n="$n" -v hz="$(getconf CLK_TCK)" \
  'BEGIN { printf "%d requests, cpu per request: server %.2f ms\n", n, w / hz * 1000 / n }'

echo "== replay of 2013-02-08 through the service (a fresh team each run)"
.venv/bin/python manage.py replay_flights --date 2013-02-08 --team "Replay $(date +%s)" | tail -3

echo "== replay of 2013-02-08 through the HTTP API"
.venv/bin/python manage.py replay_flights --date 2013-02-08 --via-http "$URL" --token "$(.venv/bin/python bench/ingest/prepare.py)" | tail -2

# No Celery worker runs here: drop the task messages the bench enqueued (escalation starts,
# fallbacks, unread counts for its alerts) instead of leaving them queued in $REDIS_URL.
.venv/bin/celery -A alertguardian purge -f >/dev/null 2>&1 || true
