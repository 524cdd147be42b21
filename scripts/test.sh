#!/usr/bin/env bash
# `make test`: the whole suite against real PostgreSQL and Redis, or the embedded default where
# they are not installed.
#
#   FLOWGATE_REQUIRE_SERVICES=1  fail instead of falling back (CI sets it; see .ci/run)
#   FLOWGATE_TEST_DATABASE_URL   default postgresql://postgres@127.0.0.1:5432/flowgate
#   FLOWGATE_TEST_BROKER_URL     default redis://127.0.0.1:6379/15
#   FLOWGATE_TEST_WORKERS        pytest-xdist processes (default 2; 0 runs serially)
#   FLOWGATE_SKIP_CHROMIUM=1     do not try to install Chromium for the browser tests
# Extra arguments go to pytest (for example: scripts/test.sh tests/accounts -x).
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"
. scripts/venv.sh

require_services=0
case "${FLOWGATE_REQUIRE_SERVICES:-}" in 1 | true | yes) require_services=1 ;; esac

ensure_venv "[test]" || { echo "error: could not install Flowgate with its test dependencies." >&2; exit 1; }

database_url="${FLOWGATE_TEST_DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/flowgate}"
broker_url="${FLOWGATE_TEST_BROKER_URL:-redis://127.0.0.1:6379/15}"
output_dir="${FLOWGATE_TEST_OUTPUT:-$ROOT/test-output}"
mkdir -p "$output_dir"

. scripts/services.sh
# -- Chromium for the browser tests -------------------------------------------------------------
ensure_chromium() {
    [ -x /usr/bin/chromium ] && return 0
    [ "${FLOWGATE_SKIP_CHROMIUM:-}" = "1" ] && return 0
    if ! is_root || ! command -v apt-get >/dev/null 2>&1; then
        echo "note: /usr/bin/chromium is missing; browser tests will be skipped (apt-get install chromium)."
        return 0
    fi
    echo "==> Installing Chromium for the browser tests"
    if ! { DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
           DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }; then
        echo "note: could not install Chromium; browser tests will be skipped."
    fi
    return 0
}

missing=()
start_postgres && ensure_database || missing+=("PostgreSQL ($pg_addr:$pg_port)")
start_redis || missing+=("Redis ($redis_addr:$redis_port)")
ensure_chromium

missing_list="$(printf '%s, ' "${missing[@]}")"
missing_list="${missing_list%, }"

export SECRET_KEY="${SECRET_KEY:-test-secret-key-0123456789abcdefghijklmnop}"
export ALLOWED_HOSTS="127.0.0.1,localhost,testserver"
export FLOWGATE_TEST_OUTPUT="$output_dir"
# The tests' own home (embedded databases, beat schedule), never the one `make run` uses.
export FLOWGATE_HOME="$output_dir/home"
# Metrics counted by an earlier run's processes start again from nothing (docs/deployment.md#metrics).
rm -rf "$FLOWGATE_HOME/metrics"
mkdir -p "$FLOWGATE_HOME"
# Tests share the loopback address; the throttling test sets its own tiny rates.
export FLOWGATE_THROTTLE_ANON="${FLOWGATE_THROTTLE_ANON:-100000/min}"
export FLOWGATE_THROTTLE_CALLER="${FLOWGATE_THROTTLE_CALLER:-100000/min}"
unset REDIS_URL FLOWGATE_SQLITE_PATH FLOWGATE_SQLITE_TEST_PATH CELERY_TASK_ALWAYS_EAGER

if [ ${#missing[@]} -eq 0 ]; then
    export DATABASE_URL="$database_url" CELERY_BROKER_URL="$broker_url"
    echo "==> Running the tests on PostgreSQL ($pg_addr:$pg_port/$pg_db) and Redis ($redis_addr:$redis_port)"
elif [ "$require_services" = "1" ]; then
    echo "error: FLOWGATE_REQUIRE_SERVICES is set but these are not reachable: $missing_list." >&2
    echo "       Install and start them (see README.md, Testing), or unset FLOWGATE_REQUIRE_SERVICES." >&2
    exit 1
else
    unset DATABASE_URL CELERY_BROKER_URL
    echo "==> Not reachable: $missing_list."
    echo "==> Running the tests on the embedded default (SQLite, filesystem broker); tests needing them are skipped."
fi

xdist=()
workers="${FLOWGATE_TEST_WORKERS:-2}"
if [ "$workers" != "0" ]; then
    xdist=(-n "$workers" --dist loadfile)
fi
junit="$output_dir/junit.xml"
rm -f "$junit"

.venv/bin/python -m pytest -p no:cacheprovider "${xdist[@]}" --junitxml="$junit" "$@"
status=$?

if [ -f "$junit" ]; then
    .venv/bin/python scripts/skipped_for_services.py "$junit" || true
fi
if [ ${#missing[@]} -ne 0 ]; then
    echo "Ran on the embedded default because these were not reachable: $missing_list."
fi
if [ $status -eq 5 ]; then
    echo "error: pytest collected no tests; check the arguments and the tests/ folder." >&2
    exit 1
fi
exit $status
