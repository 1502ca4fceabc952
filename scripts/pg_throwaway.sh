#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the test suite: `start` creates and starts it and prints its port on the last
# line of stdout; `stop` stops it and deletes it; `port` prints the port of a running one.
#
# Data in var/pgtmp/data (or in a private directory under /tmp when the postgres user cannot reach var/, e.g. a
# clone under /root), a free TCP port on 127.0.0.1, trust authentication for user postgres, fsync off. As root the
# server runs as the postgres user (runuser); the PostgreSQL packages are installed with apt-get when missing.
set -euo pipefail
cd "$(dirname "$0")/.."

# PG_THROWAWAY_NAME: another cluster beside the test suite's (var/NAME instead of var/pgtmp; scripts/run_pg.sh).
PG_THROWAWAY_NAME="${PG_THROWAWAY_NAME:-pgtmp}"
STATE_DIR="$PWD/var/$PG_THROWAWAY_NAME"
log() { printf '==> pg_throwaway: %s\n' "$*" >&2; }
die() { printf 'ERROR: pg_throwaway: %s\n' "$*" >&2; exit 1; }
[[ "$PG_THROWAWAY_NAME" =~ ^[A-Za-z0-9_-]+$ ]] || die "PG_THROWAWAY_NAME must be a plain name (letters, digits, _ -)"

find_bindir() {
    local dir
    for dir in $(compgen -G "/usr/lib/postgresql/*/bin" | sort -V -r); do
        [[ -x "$dir/initdb" && -x "$dir/pg_ctl" ]] && { echo "$dir"; return 0; }
    done
    if command -v pg_ctl >/dev/null 2>&1 && command -v initdb >/dev/null 2>&1; then
        dirname "$(readlink -f "$(command -v pg_ctl)")"
        return 0
    fi
    return 1
}

as_owner() {
    if [[ "$(id -u)" == 0 ]]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

free_port() {
    local python
    python="$(command -v python3 || echo .venv/bin/python)"
    "$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start() {
    local bindir datadir sockdir port
    if [[ -f "$STATE_DIR/port" ]]; then
        log "a throwaway cluster is recorded in $STATE_DIR: stopping it first"
        stop
    fi
    if ! bindir="$(find_bindir)"; then
        [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1 \
            || die "PostgreSQL server binaries (initdb, pg_ctl) not found; install PostgreSQL."
        log "PostgreSQL binaries missing: apt-get install postgresql"
        export DEBIAN_FRONTEND=noninteractive
        apt-get install -y -q postgresql >&2 || { apt-get update -q >&2 && apt-get install -y -q postgresql >&2; }
        bindir="$(find_bindir)" || die "PostgreSQL was installed but initdb was not found."
    fi
    if [[ "$(id -u)" == 0 ]] && ! id postgres >/dev/null 2>&1; then
        useradd --system --no-create-home --shell /usr/sbin/nologin postgres
    fi

    mkdir -p "$STATE_DIR"
    datadir="$STATE_DIR/data"
    if [[ "$(id -u)" == 0 ]]; then
        mkdir -p "$datadir"
        chown postgres: "$datadir"
        if ! runuser -u postgres -- test -w "$datadir"; then
            rmdir "$datadir"
            datadir="$(mktemp -d /tmp/otklik-pgtmp.XXXXXX)"
            chown postgres: "$datadir"
        fi
    fi
    # Unix sockets have a path limit of ~100 bytes: a short private directory, not the (maybe deep) data dir.
    sockdir="$(mktemp -d /tmp/otklik-pgsock.XXXXXX)"
    [[ "$(id -u)" == 0 ]] && chown postgres: "$sockdir"
    port="$(free_port)"
    echo "$datadir" >"$STATE_DIR/datadir"
    echo "$sockdir" >"$STATE_DIR/sockdir"
    echo "$bindir" >"$STATE_DIR/bindir"

    log "initdb in $datadir ($bindir)"
    as_owner "$bindir/initdb" -D "$datadir" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >"$STATE_DIR/initdb.log" 2>&1 \
        || { cat "$STATE_DIR/initdb.log" >&2; die "initdb failed"; }
    # pg_ctl writes its log as the server user: a log file inside the data directory is always writable.
    log "starting on 127.0.0.1:$port"
    as_owner "$bindir/pg_ctl" -D "$datadir" -l "$datadir/server.log" -w -t 60 \
        -o "-p $port -k $sockdir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
        start >&2 || { cat "$datadir/server.log" >&2 || true; die "the server did not start"; }
    echo "$port" >"$STATE_DIR/port"
    echo "$port"
}

stop() {
    local bindir datadir sockdir
    [[ -d "$STATE_DIR" ]] || return 0
    datadir="$(cat "$STATE_DIR/datadir" 2>/dev/null || echo "$STATE_DIR/data")"
    sockdir="$(cat "$STATE_DIR/sockdir" 2>/dev/null || true)"
    bindir="$(cat "$STATE_DIR/bindir" 2>/dev/null || find_bindir || true)"
    if [[ -n "$bindir" && -f "$datadir/postmaster.pid" ]]; then
        log "stopping the cluster in $datadir"
        as_owner "$bindir/pg_ctl" -D "$datadir" -m immediate -w -t 30 stop >&2 || true
    fi
    # Only our own directories: the recorded ones are var/pgtmp/data or /tmp/otklik-pg*.
    case "$datadir" in "$STATE_DIR"/* | /tmp/otklik-pgtmp.*) rm -rf "$datadir" ;; esac
    case "$sockdir" in /tmp/otklik-pgsock.*) rm -rf "$sockdir" ;; esac
    rm -rf "$STATE_DIR"
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    port) cat "$STATE_DIR/port" ;;
    *) echo "usage: $0 start|stop|port" >&2; exit 2 ;;
esac
