"""The benchmarks run (quick mode), so they cannot rot; no test asserts how fast anything is.

``make bench ARGS=--quick`` runs both: the engine against bare Celery, and every list at two sizes.
"""

from __future__ import annotations

import os
import subprocess
import uuid

import psycopg
import pytest

from tests.conftest import ROOT

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.redis]

ENGINE_ROWS = [
    "chain: wall ms", "overhead per step ms", "executions/s", "one at a time: p50 ms",
    "POST /executions/?wait=10 p50 ms", "answered after the end (its commit), p50 ms", "Refold sync_execution p50 ms",
    "GET /executions/{id}/ req/s", "commits per executed task", "statements per executed task",
    "new database connections per task", "worker processes vs 1: throughput ratio", "worker peak RSS MiB",
    "embedded: parallel-report ?wait=10 p50 ms",
]
SCALE_ROWS = [
    "GET /api/v1/executions/", "GET /api/v1/executions/?status=failed", "GET /api/v1/flow-runs",
    "GET /workflows/{id}/executions?page=1000&pageSize=20", "GET /api/v1/workflows/{id}/tasks/{task}/actions",
    "approvals inbox ?show=decided (approver)", "executions", "task runs ?task_type=approval", "logs",
    "one sweeper pass", "executions removed per second", "queued, running and waiting executions left alone",
    "executions_taskrun", "GET /api/{t}/{p}/actionexecution/action/{id}", "GET /api/{t}/project/{p}/summary",
    "GET /api/v1/webhook-deliveries/", "GET /api/v1/webhooks/{id}/deliveries/", "webhook deliveries ?event=",
    "GET /api/v1/schedules/{id}/executions/", "GET /api/v1/executions/?started_by=", "a schedule's page",
    "webhooks_delivery",
]


@pytest.fixture
def bench_database():
    """A throw-away database of this test's own (the benchmark drops and creates it)."""
    name = f"flowgate_bench_{uuid.uuid4().hex[:8]}"
    yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_make_bench_quick_prints_every_measurement_side_by_side(bench_database):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CELERY_BROKER_URL", "FLOWGATE_HOME")}
    env.update(FLOWGATE_BENCH_DATABASE_URL=bench_database, FLOWGATE_BENCH_BROKER_URL="redis://127.0.0.1:6379/9")
    result = subprocess.run(["make", "--no-print-directory", "bench", "ARGS=--quick"], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    table = result.stdout[result.stdout.index("Flowgate against bare Celery"):result.stdout.index("Every list at")]
    assert "metric" in table and "bare Celery" in table and "target" in table
    for row in ENGINE_ROWS:
        assert row in table, f"{row!r} missing from:\n{table}"
    assert "every target met" in table or "some targets NOT MET" in table  # the verdict
    scale = result.stdout[result.stdout.index("Every list at"):]
    assert "ratio" in scale and "plan" in scale and "target" in scale
    for row in SCALE_ROWS:
        assert row in scale, f"{row!r} missing from:\n{scale}"
    assert "every target met" in scale or "some targets NOT MET" in scale
