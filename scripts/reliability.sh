#!/usr/bin/env bash
# `make reliability`: Flowgate's reliability battery (bench/reliability.py). It starts everything it
# needs on 127.0.0.1 -- its own PostgreSQL cluster (initdb, pg_ctl), its own Redis on a spare port,
# the web process, a Celery worker and beat -- kills, stops and restarts them, prints one table and
# removes it all again. Extra arguments go to the script (--quick: a few of each; --keep: keep logs;
# --outage-rounds N: stop Redis and restart PostgreSQL N times each).
set -uo pipefail
cd "$(dirname "$0")/.."
. scripts/venv.sh

ensure_venv "" || { echo "error: could not install Flowgate." >&2; exit 1; }
command -v redis-server >/dev/null 2>&1 || { echo "error: the battery needs redis-server on the PATH." >&2; exit 1; }

unset DATABASE_URL CELERY_BROKER_URL REDIS_URL CELERY_TASK_ALWAYS_EAGER CELERY_TASK_DEFAULT_QUEUE FLOWGATE_HOME
exec .venv/bin/python bench/reliability.py "$@"
