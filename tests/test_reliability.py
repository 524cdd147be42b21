"""The reliability battery runs (quick mode) and finds nothing lost: its table's counts are zero.

``make reliability ARGS=--quick`` starts its own PostgreSQL cluster and Redis, kills worker processes,
stops Redis and restarts PostgreSQL under load; no test asserts how fast anything recovers. The
battery's own gates (a row fails on a count that is not zero, a /healthz p99 over its limit, a worker
or beat that exited by itself) are tested on rows made by hand, without processes.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from bench.reliability import HEALTHZ_P99_LIMIT, Row, Targets, hostile_requests, surfaces
from tests.conftest import ROOT, services_required

ROWS = [
    "worker SIGKILL (pool processes)", "worker SIGKILL (main process)", "Redis down", "PostgreSQL down",
    "/healthz during the PostgreSQL restart", "approve vs reject", "cancel vs completion", "Idempotency-Key",
    "/healthz with 20 sync waits parked", "/healthz with 50 live streams open", "hostile requests", "worker memory",
]
SURFACES = ["native", "Refold", "Port", "FlowSynx", "Flowdash", "mindzie"]
PASSED = ("Every 5xx, lost, stuck and dup count is zero; /healthz p99 with the waits parked and with the streams "
          "open is under 100 ms")


def cells(line: str) -> list[str]:
    """The columns runs, 5xx, lost, stuck, dup of a table line (after the check's name)."""
    return re.split(r"\s+", line[52:].strip())[:5]


def servers_installed() -> bool:
    """redis-server, and PostgreSQL's initdb (on the PATH or where Debian puts it)."""
    initdb = shutil.which("initdb") or any(Path(p).exists() for p in Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return bool(shutil.which("redis-server") and initdb)


@pytest.mark.e2e
def test_make_reliability_quick_loses_nothing():
    if not servers_installed():
        reason = "needs redis-server and PostgreSQL's initdb and pg_ctl"
        if services_required():
            pytest.fail(f"FLOWGATE_REQUIRE_SERVICES is set but this test {reason}", pytrace=False)
        pytest.skip(reason)
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
    assert PASSED in table
    assert "FAILED" not in table
    for line in lines:
        if line.startswith(("worker SIGKILL", "Redis down", "PostgreSQL down")):
            assert cells(line)[4] == "0", line  # outputs written once: counted, not left out
        if line.startswith(("Redis down", "PostgreSQL down")):
            assert "rounds 1;" in line and "worker exits 0" in line and "beat up" in line, line
        if line.startswith("PostgreSQL down"):
            assert "'lost its worker' logged 0" in line, line
    hostile = next(line for line in lines if line.startswith("hostile requests"))
    assert int(cells(hostile)[0]) > 100, hostile  # every kind on every surface, not a handful


@pytest.mark.e2e
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


def test_a_row_fails_on_any_count_that_is_not_zero():
    assert not Row("check", 3, fivexx=0, lost=0, stuck=0, dup=0).failed()
    for count in ("fivexx", "lost", "stuck", "dup"):
        row = Row("check", 3, fivexx=0, lost=0, stuck=0, dup=0)
        setattr(row, count, 1)
        assert row.failed(), count
    assert not Row("memory", 1, lost=1, gate=False).failed()  # an ungated row never fails


def test_healthz_p99_fails_its_row_at_the_limit_and_over_it():
    under = Row("/healthz with 50 sync waits parked (p99 s)", 200, 0, p95=HEALTHZ_P99_LIMIT * 0.9,
                p_limit=HEALTHZ_P99_LIMIT)
    assert not under.failed()
    assert "FAILED" not in under.shown_notes()
    for p99 in (HEALTHZ_P99_LIMIT, HEALTHZ_P99_LIMIT * 1.5):
        over = Row("/healthz with 50 sync waits parked (p99 s)", 200, 0, p95=p99, p_limit=HEALTHZ_P99_LIMIT,
                   notes="p50 3 ms")
        assert over.failed()
        assert over.shown_notes().startswith(f"FAILED: {p99 * 1000:.0f} ms is not under 100 ms; p50 3 ms")
    assert Row("/healthz", 0, 0, p95=None, p_limit=HEALTHZ_P99_LIMIT).failed()  # nothing timed is no pass


@pytest.mark.parametrize(("field", "reason"), [
    ("worker_exits", "the worker exited by itself 2 times"),
    ("beat_exits", "beat exited 2 times"),
    ("lost_worker_logs", "'lost its worker' logged 2 times"),
])
def test_worker_exits_beat_exits_and_lost_worker_logs_fail_their_row(field, reason):
    row = Row("PostgreSQL down 15 s and restarted, 10 POST/s", 100, 0, 0, 0, dup=0, **{field: 0})
    assert not row.failed()
    setattr(row, field, 2)
    assert row.failed()
    assert row.reasons() == [reason]
    assert row.shown_notes().startswith(f"FAILED: {reason}")


def test_hostile_requests_reach_every_surface_with_every_kind():
    targets = Targets(tenant="t", project="p", workflow="w", execution="e", action="a")
    requests = hostile_requests(targets, 1000)
    kinds = {kind for _, kind, *_ in requests}
    assert {name for name, *_ in requests} == set(SURFACES) == {s.name for s in surfaces(targets)}
    for name in SURFACES:
        assert {kind for surface, kind, *_ in requests if surface == name} == kinds, name
    assert {"unterminated JSON", "5,000 nested arrays", "a number too large for a float", "bytes that are not UTF-8",
            "a lone surrogate in a string", "NUL in the query", "NUL in the path", "a body over the size limit",
            "an Idempotency-Key with a control character", "a time-zone offset out of range",
            "an unknown filter value", "a cursor over 8 KB"} <= kinds
    oversized = [body for _, kind, _, _, body, _ in requests if kind == "a body over the size limit"]
    assert oversized and all(1000 < len(body) < 2000 for body in oversized)  # over the limit, and bounded
    cursors = [path for _, kind, _, path, _, _ in requests if kind == "a cursor over 8 KB"]
    assert all(len(path.split("?", 1)[1]) > 8192 for path in cursors)
    # No size limit (or one too large to probe): no body over it is sent.
    assert not any(kind == "a body over the size limit" for _, kind, *_ in hostile_requests(targets, None))
