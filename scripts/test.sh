#!/usr/bin/env bash
# `make test`: set up, lint, check, and run the suite on SQLite and on PostgreSQL.
#
# Steps: bootstrap (.venv, packages, translations) → migrate + reference data → ruff check → ruff format --check →
# makemigrations --check → manage.py check → mypy → translations complete → Redis for the integration tests →
# pytest on SQLite (everything, browser tests included) → pytest on PostgreSQL (`-m "not e2e and not once"`) on the local server at 127.0.0.1:5432 when it
# answers, else on a throwaway cluster (scripts/pg_throwaway.sh) that is stopped at the end, even on failure.
# With TEST_PARALLEL=1 (the default on a machine with 2 or more cores) the PostgreSQL pass runs in the background
# beside the SQLite pass (each is one process; its output goes to var/test-postgres.log and is printed when it ends;
# it uses Redis database 14 instead of 15), which takes the suite from the sum of the two passes to about the longer.
# Every step runs even when an earlier one failed (FAIL_FAST=1 stops at the first failure); a summary with the
# time of each step comes last, and the exit status is non-zero when any step failed.
#
# Environment: TEST_SQLITE_DB (test database file), TEST_PG_DB (test database name), TEST_PG=auto|local|throwaway
# (which PostgreSQL server), TEST_REDIS_PORT (default 6379; the tests get OTKLIK_TEST_REDIS_URL=redis://127.0.0.1:
# PORT/15), PYTEST_ARGS (extra pytest arguments for both passes, split on whitespace), FAIL_FAST=1.
set -uo pipefail
cd "$(dirname "$0")/.."

TEST_SQLITE_DB="${TEST_SQLITE_DB:-$PWD/var/test-otklik.sqlite3}"
TEST_PG_DB="${TEST_PG_DB:-test_otklik}"
TEST_PG="${TEST_PG:-auto}"
REDIS_PORT="${TEST_REDIS_PORT:-6379}"
read -r -a PYTEST_EXTRA <<<"${PYTEST_ARGS:-}"
FAIL_FAST="${FAIL_FAST:-0}"
if [[ -z "${TEST_PARALLEL:-}" ]]; then
    TEST_PARALLEL=0
    (($(nproc 2>/dev/null || echo 1) >= 2)) && TEST_PARALLEL=1
fi
PG_LOG="$PWD/var/test-postgres.log"
export OTKLIK_TEST_REDIS_URL="redis://127.0.0.1:$REDIS_PORT/15"
PY=.venv/bin/python

SUMMARY=()
FAILED=0
PG_THROWAWAY=0
REDIS_STARTED=0
T_START=$EPOCHREALTIME

say() { printf '\n==> %s\n' "$*"; }
elapsed() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }

summary() {
    local line
    printf '\n==> Summary (%s s in all)\n' "$(elapsed "$T_START")"
    for line in "${SUMMARY[@]}"; do printf '    %s\n' "$line"; done
    if ((FAILED)); then printf '==> FAILED\n'; else printf '==> OK\n'; fi
}

cleanup() {
    if [[ -n "${PG_PID:-}" ]] && kill -0 "$PG_PID" 2>/dev/null; then
        pkill -TERM -P "$PG_PID" 2>/dev/null || true
        kill -TERM "$PG_PID" 2>/dev/null || true
        wait "$PG_PID" 2>/dev/null || true
    fi
    if ((PG_THROWAWAY)); then
        scripts/pg_throwaway.sh stop || true
    fi
    if ((REDIS_STARTED)); then
        say "stopping the Redis server started for the tests"
        redis_stop "$REDIS_PORT" test
    fi
}
trap cleanup EXIT
trap 'echo "interrupted" >&2; exit 130' INT
trap 'exit 143' TERM

# step NAME COMMAND...: run, time and record one step.
step() {
    local name="$1" t0 rc
    shift
    say "$name"
    t0=$EPOCHREALTIME
    "$@"
    rc=$?
    if ((rc == 0)); then
        SUMMARY+=("ok      $(printf '%7s' "$(elapsed "$t0")") s  $name")
    else
        SUMMARY+=("FAILED  $(printf '%7s' "$(elapsed "$t0")") s  $name (exit status $rc)")
        FAILED=1
        if [[ "$FAIL_FAST" == 1 ]]; then
            summary
            exit 1
        fi
    fi
    return "$rc"
}

# redis_ping / redis_ensure / redis_stop (shared with scripts/run_pg.sh)
# shellcheck source=scripts/lib/redis.sh
. scripts/lib/redis.sh

ensure_redis() {
    redis_ensure "$REDIS_PORT" test
}

ensure_chromium() {
    # The browser tests drive Debian's Chromium (Playwright cannot download its own browser here).
    if [[ -x /usr/bin/chromium ]]; then
        /usr/bin/chromium --version 2>/dev/null || true
        return 0
    fi
    if [[ "$(id -u)" != 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
        echo "/usr/bin/chromium is missing and we cannot apt-get it: the browser tests will be skipped" >&2
        return 0
    fi
    echo "apt-get install chromium"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q chromium >/dev/null || { apt-get update -q && apt-get install -y -q chromium >/dev/null; }
}

pytest_sqlite() {
    local rc
    OTKLIK_DB=sqlite OTKLIK_TEST_DB_NAME="$TEST_SQLITE_DB" .venv/bin/pytest -q "${PYTEST_EXTRA[@]}"
    rc=$?
    # 5 = no tests collected: in this pass (no marker filter) it means nothing ran, which is a failure.
    ((rc == 5)) && echo "pytest collected no tests on SQLite: nothing was tested" >&2
    return "$rc"
}

local_postgres_ok() {
    if command -v pg_isready >/dev/null 2>&1; then
        pg_isready -q -h 127.0.0.1 -p 5432 -t 3 || return 1
    fi
    "$PY" -c 'import psycopg; psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=postgres",
        connect_timeout=3).close()' >/dev/null 2>&1
}

pytest_postgres() {
    local port rc
    if [[ "$TEST_PG" == local ]] || { [[ "$TEST_PG" == auto ]] && local_postgres_ok; }; then
        port=5432
        echo "using the local PostgreSQL server at 127.0.0.1:5432"
    else
        echo "no PostgreSQL server answers at 127.0.0.1:5432: starting a throwaway cluster"
        PG_THROWAWAY=1
        port="$(scripts/pg_throwaway.sh start | tail -n 1)" || return 1
        [[ -n "$port" ]] || return 1
    fi
    OTKLIK_TEST_REDIS_URL="redis://127.0.0.1:$REDIS_PORT/14" \
        OTKLIK_DB=postgres OTKLIK_DB_HOST=127.0.0.1 OTKLIK_DB_PORT="$port" OTKLIK_DB_USER=postgres OTKLIK_DB_PASSWORD="" \
        OTKLIK_DB_NAME=postgres OTKLIK_TEST_DB_NAME="$TEST_PG_DB" \
        .venv/bin/pytest -q -m "not e2e and not once" --create-db "${PYTEST_EXTRA[@]}"
    rc=$?
    # 5 = the marker selected nothing: not an error here (the SQLite pass already proved that tests exist).
    if ((rc == 5)); then
        echo "pytest -m 'not e2e and not once' selected no tests on PostgreSQL"
        rc=0
    fi
    if ((PG_THROWAWAY)); then
        scripts/pg_throwaway.sh stop
        PG_THROWAWAY=0
    fi
    return "$rc"
}

if ! step "bootstrap: Python, uv, packages, translations" scripts/bootstrap.sh; then
    summary
    exit 1
fi
step "migrate + reference data (var/otklik.sqlite3)" "$PY" scripts/prepare_db.py --no-demo
step "ruff check" .venv/bin/ruff check .
step "ruff format --check" .venv/bin/ruff format --check .
step "makemigrations --check" "$PY" manage.py makemigrations --check --dry-run
step "manage.py check" "$PY" manage.py check
step "mypy (django-stubs)" .venv/bin/mypy otklik
step "every message translated to Russian" scripts/check_translations.sh
step "Redis for the integration tests" ensure_redis
step "Chromium for the browser tests" ensure_chromium
PG_STEP="pytest on PostgreSQL (-m 'not e2e and not once', database $TEST_PG_DB)"
if [[ "$TEST_PARALLEL" == 1 ]]; then
    mkdir -p "$(dirname "$PG_LOG")"
    say "$PG_STEP: started in the background (output in $PG_LOG, printed when it ends)"
    PG_T0=$EPOCHREALTIME
    (
        # This subshell's own throwaway cluster (if any) is stopped however it ends.
        trap '((PG_THROWAWAY)) && scripts/pg_throwaway.sh stop' EXIT
        trap 'exit 143' TERM
        pytest_postgres
    ) >"$PG_LOG" 2>&1 &
    PG_PID=$!
    step "pytest on SQLite ($TEST_SQLITE_DB)" pytest_sqlite
    say "waiting for $PG_STEP"
    wait "$PG_PID"
    PG_RC=$?
    cat "$PG_LOG"
    if ((PG_RC == 0)); then
        SUMMARY+=("ok      $(printf '%7s' "$(elapsed "$PG_T0")") s  $PG_STEP (in parallel)")
    else
        SUMMARY+=("FAILED  $(printf '%7s' "$(elapsed "$PG_T0")") s  $PG_STEP (in parallel; exit status $PG_RC)")
        FAILED=1
    fi
else
    step "pytest on SQLite ($TEST_SQLITE_DB)" pytest_sqlite
    step "$PG_STEP" pytest_postgres
fi

summary
exit "$FAILED"
