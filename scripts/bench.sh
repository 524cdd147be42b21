#!/usr/bin/env bash
# `make bench`: Flowgate's engine against a bare Celery baseline, then every list at 10k and at 1M
# executions (bench/README.md), each printing its own table.
#
#   FLOWGATE_BENCH_DATABASE_URL  default postgresql://postgres@127.0.0.1:5432/flowgate_bench (dropped and created)
#   FLOWGATE_BENCH_BROKER_URL    default redis://127.0.0.1:6379/14
#   FLOWGATE_BENCH_ONLY          engine or scale: run only that benchmark
# Extra arguments go to both scripts (for example: --quick).
set -uo pipefail
cd "$(dirname "$0")/.."
. scripts/venv.sh

ensure_venv "" || { echo "error: could not install Flowgate." >&2; exit 1; }

database_url="${FLOWGATE_BENCH_DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/flowgate_bench}"
broker_url="${FLOWGATE_BENCH_BROKER_URL:-redis://127.0.0.1:6379/14}"
. scripts/services.sh

start_postgres || { echo "error: the benchmark needs PostgreSQL at $pg_addr:$pg_port." >&2; exit 1; }
start_redis || { echo "error: the benchmark needs Redis at $redis_addr:$redis_port." >&2; exit 1; }

export DATABASE_URL="$database_url" CELERY_BROKER_URL="$broker_url"
export DJANGO_SETTINGS_MODULE=bench.settings
export SECRET_KEY="${SECRET_KEY:-bench-secret-key-0123456789abcdefghijklmnop}"
export ALLOWED_HOSTS="127.0.0.1,localhost,testserver"
export FLOWGATE_HOME="${FLOWGATE_BENCH_HOME:-$(mktemp -d -t flowgate-bench-home-XXXXXX)}"
export FLOWGATE_THROTTLE_CALLER="1000000/min" FLOWGATE_THROTTLE_ANON="1000000/min"
unset REDIS_URL CELERY_TASK_ALWAYS_EAGER CELERY_TASK_DEFAULT_QUEUE

only="${FLOWGATE_BENCH_ONLY:-}"
status=0
if [ -z "$only" ] || [ "$only" = "engine" ]; then
    .venv/bin/python bench/bench_engine.py "$@" || status=1
fi
if [ -z "$only" ] || [ "$only" = "scale" ]; then
    # The same throw-away database, dropped and created again for the scale benchmark's seed.
    .venv/bin/python bench/bench_scale.py "$@" || status=1
fi
exit $status
