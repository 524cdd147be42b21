# Sourced by test.sh and bench.sh (after venv.sh and ensure_venv): start PostgreSQL and Redis when
# they are installed but stopped. Expects $database_url and $broker_url; defines
# start_postgres, ensure_database and start_redis, and $pg_addr $pg_port $pg_user $pg_db
# $redis_addr $redis_port.

is_root() { [ "$(id -u)" = "0" ]; }

# -- PostgreSQL ----------------------------------------------------------------------------
pg_host="$(.venv/bin/python -c 'import sys, urllib.parse as u; p = u.urlparse(sys.argv[1]); print(p.hostname or "127.0.0.1", p.port or 5432, p.username or "postgres", p.path.lstrip("/") or "flowgate")' "$database_url")"
read -r pg_addr pg_port pg_user pg_db <<< "$pg_host"

postgres_up() {
    if command -v pg_isready >/dev/null 2>&1; then
        pg_isready -q -h "$pg_addr" -p "$pg_port" -t 2
    else
        .venv/bin/python -c 'import socket, sys; socket.create_connection((sys.argv[1], int(sys.argv[2])), 2)' \
            "$pg_addr" "$pg_port" 2>/dev/null
    fi
}

start_postgres() {
    postgres_up && return 0
    if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ] && [ -n "$(ls /etc/postgresql 2>/dev/null)" ]; then
        echo "==> Starting PostgreSQL"
        pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n 1)" main start || true
        for _ in $(seq 1 30); do postgres_up && return 0; sleep 1; done
    fi
    return 1
}

ensure_database() {
    command -v psql >/dev/null 2>&1 || return 0
    local exists
    exists="$(psql -h "$pg_addr" -p "$pg_port" -U "$pg_user" -d postgres -tAc \
        "SELECT 1 FROM pg_database WHERE datname = '$pg_db'" 2>/dev/null)" || return 1
    if [ "$exists" != "1" ]; then
        psql -h "$pg_addr" -p "$pg_port" -U "$pg_user" -d postgres -qc "CREATE DATABASE \"$pg_db\"" >/dev/null || return 1
    fi
}

# -- Redis -----------------------------------------------------------------------------------
redis_addr_port="$(.venv/bin/python -c 'import sys, urllib.parse as u; p = u.urlparse(sys.argv[1]); print(p.hostname or "127.0.0.1", p.port or 6379)' "$broker_url")"
read -r redis_addr redis_port <<< "$redis_addr_port"

redis_up() {
    .venv/bin/python - "$redis_addr" "$redis_port" <<'PY' 2>/dev/null
import socket, sys
with socket.create_connection((sys.argv[1], int(sys.argv[2])), 2) as s:
    s.sendall(b"PING\r\n")
    sys.exit(0 if s.recv(64).startswith(b"+PONG") else 1)
PY
}

start_redis() {
    redis_up && return 0
    if command -v redis-server >/dev/null 2>&1; then
        echo "==> Starting Redis"
        if is_root; then mkdir -p /var/lib/redis /var/log/redis; fi
        redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
            --dir /var/lib/redis --logfile /var/log/redis/ci.log || true
        for _ in $(seq 1 30); do redis_up && return 0; sleep 1; done
    fi
    return 1
}

