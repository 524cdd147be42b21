"""The reliability battery runs (quick mode) and finds nothing lost: its table's counts are zero.

``make reliability ARGS=--quick`` starts its own PostgreSQL cluster and Redis, kills worker processes,
stops Redis and restarts PostgreSQL under load; no test asserts how fast anything recovers.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = [pytest.mark.e2e]

ROWS = [
    "worker SIGKILL (pool processes)", "worker SIGKILL (main process)", "Redis down", "PostgreSQL down",
    "/healthz during the PostgreSQL restart", "approve vs reject", "cancel vs completion", "Idempotency-Key",
    "/healthz with", "hostile requests", "worker memory",
]


def cells(line: str) -> list[str]:
    """The columns runs, 5xx, lost, stuck, dup of a table line (after the check's name)."""
    return re.split(r"\s+", line[52:].strip())[:5]


def servers_installed() -> bool:
    """redis-server, and PostgreSQL's initdb (on the PATH or where Debian puts it)."""
    initdb = shutil.which("initdb") or any(Path(p).exists() for p in Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return bool(shutil.which("redis-server") and initdb)


@pytest.mark.skipif(not servers_installed(), reason="the battery needs redis-server and PostgreSQL's initdb and pg_ctl")
def test_make_reliability_quick_loses_nothing():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "CELERY_", "FLOWGATE_HOME"))}
    result = subprocess.run(["make", "--no-print-directory", "reliability", "ARGS=--quick"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=900)
    output = result.stdout
    assert "Flowgate reliability battery (quick)" in output, output[-3000:] + result.stderr[-3000:]
    table = output[output.index("Flowgate reliability battery (quick)"):]
    lines = table.splitlines()
    for row in ROWS:
        assert any(line.startswith(row) for line in lines), f"no row {row!r} in:\n{table}"
    for line in lines:
        if line.startswith(tuple(ROWS[:-1])):
            runs, fivexx, lost, stuck, dup = cells(line)
            assert int(runs) > 0, line
            assert {fivexx, lost, stuck, dup} <= {"0", "-"}, line
    assert result.returncode == 0, table
    assert "Every 5xx, lost, stuck and dup count is zero." in table
    for line in lines:
        if line.startswith(("worker SIGKILL", "Redis down", "PostgreSQL down")):
            assert cells(line)[4] == "0", line  # outputs written once: counted, not left out


@pytest.mark.django_db
def test_the_dup_column_counts_an_outcome_recorded_twice(project_a):
    from bench.reliability import duplicate_outputs
    from executions.models import Log
    from tests.executions.factories import ExecutionFactory
    from tests.workflows.factories import WorkflowFactory

    workflow = WorkflowFactory(project=project_a)
    once, twice = ExecutionFactory(workflow=workflow), ExecutionFactory(workflow=workflow)
    for execution in (once, twice):
        Log.objects.create(execution=execution, message="Task a succeeded.", event="task.succeeded")
        Log.objects.create(execution=execution, message="Task b succeeded.", event="task.succeeded")
        Log.objects.create(execution=execution, message="Execution succeeded.", event="execution.succeeded")
    ids = [str(once.id), str(twice.id)]
    assert duplicate_outputs(ids) == 0
    Log.objects.create(execution=twice, message="Task b succeeded.", event="task.succeeded")
    assert duplicate_outputs(ids) == 1
    Log.objects.create(execution=twice, message="Execution succeeded.", event="execution.succeeded")
    assert duplicate_outputs(ids) == 2
    # Other events repeat as a matter of course (a task pending again after its worker was lost).
    Log.objects.create(execution=once, message="Task a will run again.", event="task.pending")
    Log.objects.create(execution=once, message="Task a will run again.", event="task.pending")
    assert duplicate_outputs(ids) == 2
