#!/usr/bin/env bash
# `make run`: install, migrate, create the demo tenant and key, and serve web + worker.
#
# With no DATABASE_URL this is the embedded default: SQLite (WAL) and a filesystem Celery
# broker under FLOWGATE_HOME (./var), no servers needed. Extra arguments go to runflowgate
# (for example: scripts/run.sh --port 8080).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/venv.sh

ensure_venv ""

port=8000
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
    case "${args[$i]}" in
        --port) port="${args[$((i + 1))]:-8000}" ;;
        --port=*) port="${args[$i]#--port=}" ;;
    esac
done
export FLOWGATE_BASE_URL="${FLOWGATE_BASE_URL:-http://127.0.0.1:$port}"

echo "==> Migrating the database"
.venv/bin/python manage.py migrate --noinput --verbosity 0
echo "==> Preparing the demo tenant"
.venv/bin/python manage.py bootstrap_demo
echo "==> Starting web and worker"
exec .venv/bin/python manage.py runflowgate "$@"
