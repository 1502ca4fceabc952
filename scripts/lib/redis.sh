# Redis helpers for scripts/test.sh and scripts/run_pg.sh (sourced, run from the repository root).
#
# redis_ping PORT             true when a Redis answers PING on 127.0.0.1:PORT (redis-cli, else redis-py from .venv)
# redis_ensure PORT NAME      make a Redis answer on 127.0.0.1:PORT: nothing when one answers; else apt-get install
#                             redis-server when it is missing (as root), then start a daemon with no persistence
#                             (pid var/redis-NAME.pid, log var/redis-NAME.log) and set REDIS_STARTED=1
# redis_stop PORT NAME        stop the daemon redis_ensure started (shutdown nosave, else kill by the pid file)

redis_ping() {
    local port="$1"
    if command -v redis-cli >/dev/null 2>&1; then
        [[ "$(redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null)" == PONG ]]
    else
        .venv/bin/python -c 'import redis, sys; redis.Redis(host="127.0.0.1", port=int(sys.argv[1]), socket_timeout=2).ping()' \
            "$port" >/dev/null 2>&1
    fi
}

redis_ensure() {
    local port="$1" name="$2" _
    if redis_ping "$port"; then
        echo "Redis answers on 127.0.0.1:$port"
        return 0
    fi
    if ! command -v redis-server >/dev/null 2>&1; then
        if [[ "$(id -u)" != 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
            echo "redis-server is not installed (and we are not root to apt-get it)" >&2
            return 1
        fi
        echo "apt-get install redis-server"
        export DEBIAN_FRONTEND=noninteractive
        apt-get install -y -q redis-server || { apt-get update -q && apt-get install -y -q redis-server; } || return 1
        if redis_ping "$port"; then return 0; fi  # the package may have started its own server
    fi
    echo "starting redis-server on 127.0.0.1:$port (no persistence)"
    mkdir -p var
    redis-server --daemonize yes --bind 127.0.0.1 --port "$port" --save "" --appendonly no \
        --pidfile "$PWD/var/redis-$name.pid" --logfile "$PWD/var/redis-$name.log" || return 1
    REDIS_STARTED=1
    for _ in $(seq 50); do
        redis_ping "$port" && return 0
        sleep 0.1
    done
    echo "redis-server did not answer; its log:" >&2
    cat "var/redis-$name.log" >&2 || true
    return 1
}

redis_stop() {
    local port="$1" name="$2"
    redis-cli -h 127.0.0.1 -p "$port" shutdown nosave >/dev/null 2>&1 \
        || kill "$(cat "var/redis-$name.pid" 2>/dev/null)" 2>/dev/null || true
}
