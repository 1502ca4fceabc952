#!/usr/bin/env bash
# `make run-pg`: the demo on PostgreSQL with a Redis broker — gunicorn, a Celery worker and celery beat in one
# terminal (scripts/run_embedded.py supervises them); Ctrl-C stops all, then whatever this script started.
#
# 1. PostgreSQL: the server at 127.0.0.1:5432 when it answers (user postgres, or OTKLIK_DB_USER/OTKLIK_DB_PASSWORD),
#    else a throwaway cluster (scripts/pg_throwaway.sh in var/pgdemo; as root it installs PostgreSQL with apt-get
#    when missing) that is stopped and deleted at the end — its demo data goes with it.
# 2. Redis at 127.0.0.1:RUN_PG_REDIS_PORT: started (no persistence) when none answers, stopped at the end.
# 3. The database RUN_PG_DB (default otklik_demo) is created when missing; migrations, the reference data and the
#    demo city are loaded (scripts/prepare_db.py; idempotent: run it again at any time).
# 4. gunicorn on 127.0.0.1:PORT (static files from whitenoise), a worker, beat and the VK emulator, with
#    OTKLIK_BROKER_URL=redis://127.0.0.1:PORT/N and the results in database N+1.
#
# Environment: PORT (8000), RUN_PG=auto|local|throwaway (which PostgreSQL), RUN_PG_DB (otklik_demo),
# RUN_PG_REDIS_PORT (6379), RUN_PG_REDIS_DB (0; the results use the next one), RUN_ARGS (options of
# scripts/run_embedded.py, e.g. "--server runserver --reload" or "--concurrency 4").
set -euo pipefail
cd "$(dirname "$0")/.."

PORT="${PORT:-8000}"
RUN_PG="${RUN_PG:-auto}"
RUN_PG_DB="${RUN_PG_DB:-otklik_demo}"
REDIS_PORT="${RUN_PG_REDIS_PORT:-6379}"
REDIS_DB="${RUN_PG_REDIS_DB:-0}"
read -r -a RUN_EXTRA <<<"${RUN_ARGS:-}"
PY=.venv/bin/python
PG_THROWAWAY_NAME=pgdemo
export PG_THROWAWAY_NAME

PG_THROWAWAY=0
REDIS_STARTED=0

say() { printf '==> run-pg: %s\n' "$*"; }
die() { printf 'ERROR: run-pg: %s\n' "$*" >&2; exit 1; }

# shellcheck source=scripts/lib/redis.sh
. scripts/lib/redis.sh

cleanup() {
    if ((PG_THROWAWAY)); then
        say "stopping the throwaway PostgreSQL cluster (var/$PG_THROWAWAY_NAME)"
        scripts/pg_throwaway.sh stop || true
    fi
    if ((REDIS_STARTED)); then
        say "stopping the Redis server started for the demo"
        redis_stop "$REDIS_PORT" demo
    fi
}
trap cleanup EXIT
# Ctrl-C reaches the supervisor too (same terminal): it stops its children and returns; we clean up after it.
trap 'say "interrupted"' INT
trap 'exit 143' TERM

[[ "$RUN_PG_DB" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || die "RUN_PG_DB must be a plain identifier, not '$RUN_PG_DB'"
[[ "$RUN_PG" =~ ^(auto|local|throwaway)$ ]] || die "RUN_PG must be auto, local or throwaway, not '$RUN_PG'"
[[ "$REDIS_DB" =~ ^[0-9]+$ ]] || die "RUN_PG_REDIS_DB must be a number, not '$REDIS_DB'"
[[ -x "$PY" ]] || die "$PY is missing: run scripts/bootstrap.sh (make venv) first"

pg_answers() {  # HOST PORT USER
    PGPASSWORD="${OTKLIK_DB_PASSWORD:-}" "$PY" -c 'import sys, psycopg
psycopg.connect(host=sys.argv[1], port=sys.argv[2], user=sys.argv[3], dbname="postgres", connect_timeout=3).close()' \
        "$1" "$2" "$3" >/dev/null 2>&1
}

# --- PostgreSQL -------------------------------------------------------------------------------------------
export OTKLIK_DB=postgres OTKLIK_DB_HOST=127.0.0.1 OTKLIK_DB_NAME="$RUN_PG_DB"
export OTKLIK_DB_USER="${OTKLIK_DB_USER:-postgres}" OTKLIK_DB_PASSWORD="${OTKLIK_DB_PASSWORD:-}"
if [[ "$RUN_PG" == local ]] || { [[ "$RUN_PG" == auto ]] && pg_answers 127.0.0.1 5432 "$OTKLIK_DB_USER"; }; then
    OTKLIK_DB_PORT=5432
    say "PostgreSQL answers at 127.0.0.1:5432 (user $OTKLIK_DB_USER)"
else
    [[ "$RUN_PG" == local ]] && die "no PostgreSQL at 127.0.0.1:5432"
    if [[ "$RUN_PG" == throwaway ]]; then
        say "RUN_PG=throwaway: starting a throwaway cluster (deleted when the demo stops)"
    else
        say "no PostgreSQL answers at 127.0.0.1:5432: starting a throwaway cluster (deleted when the demo stops)"
    fi
    PG_THROWAWAY=1
    OTKLIK_DB_PORT="$(scripts/pg_throwaway.sh start | tail -n 1)"
    [[ "$OTKLIK_DB_PORT" =~ ^[0-9]+$ ]] || die "the throwaway cluster did not start"
    OTKLIK_DB_USER=postgres OTKLIK_DB_PASSWORD=""
fi
export OTKLIK_DB_PORT
# Create the database when missing (an identifier checked above: safe to interpolate).
PGPASSWORD="$OTKLIK_DB_PASSWORD" "$PY" - "$OTKLIK_DB_PORT" "$OTKLIK_DB_USER" "$RUN_PG_DB" <<'EOF'
import sys

import psycopg

port, user, name = sys.argv[1:4]
with psycopg.connect(host="127.0.0.1", port=port, user=user, dbname="postgres", autocommit=True) as conn:
    if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
        print(f"==> run-pg: database {name} exists")
    else:
        conn.execute(f'CREATE DATABASE "{name}" ENCODING \'UTF8\' TEMPLATE template0')
        print(f"==> run-pg: database {name} created")
EOF

# --- Redis ------------------------------------------------------------------------------------------------
redis_ensure "$REDIS_PORT" demo || die "no Redis on 127.0.0.1:$REDIS_PORT"
export OTKLIK_BROKER_URL="redis://127.0.0.1:$REDIS_PORT/$REDIS_DB"
export OTKLIK_RESULT_BACKEND="redis://127.0.0.1:$REDIS_PORT/$((REDIS_DB + 1))"

# --- Data, then the processes -----------------------------------------------------------------------------
say "database postgresql://$OTKLIK_DB_USER@127.0.0.1:$OTKLIK_DB_PORT/$RUN_PG_DB, broker $OTKLIK_BROKER_URL"
"$PY" scripts/prepare_db.py
rc=0
"$PY" scripts/run_embedded.py --port "$PORT" --server gunicorn "${RUN_EXTRA[@]}" || rc=$?
exit "$rc"
