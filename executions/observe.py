"""What the engine tells operators: one log line per execution start and end, and the metrics beside it.

Lines carry the execution's id, its workflow, its status and its duration, as words in the plain
format and as fields in the JSON format (``FLOWGATE_LOG_FORMAT=json``). The workflow's name is read
once per workflow and process, so a start or an end costs no query of its own.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable

from django.db.models import Count
from prometheus_client.core import GaugeMetricFamily, Metric

from config.metrics import EXECUTIONS_FINISHED, EXECUTIONS_STARTED, TASK_DURATION
from executions.models import Execution, ExecutionStatus
from workflows.models import Workflow

logger = logging.getLogger("flowgate.engine")

# Workflow names kept per process; a deployment with more workflows than this reads some again.
WORKFLOW_NAMES_KEPT = 10_000
# An execution that runs a definition of its own (an action's steps) has no workflow.
NO_WORKFLOW = "(none)"
# The engine's outcome classes (engine.Done, Park, Fail) by name: this module sits below the engine.
OUTCOMES = {"Done": "succeeded", "Park": "parked", "Fail": "failed"}
LIVE_STATUSES = (ExecutionStatus.QUEUED, ExecutionStatus.RUNNING, ExecutionStatus.WAITING)

@functools.lru_cache(maxsize=WORKFLOW_NAMES_KEPT)
def _name_of(workflow_id) -> str:
    return Workflow.objects.filter(pk=workflow_id).values_list("name", flat=True).first() or str(workflow_id)


def workflow_name(execution: Execution) -> str:
    return NO_WORKFLOW if execution.workflow_id is None else _name_of(execution.workflow_id)


def execution_started(execution: Execution) -> None:
    workflow = workflow_name(execution)
    EXECUTIONS_STARTED.labels(workflow).inc()
    logger.info("execution %s of workflow %r started (attempt %s)", execution.id, workflow, execution.attempt,
                extra={"execution_id": str(execution.id), "workflow": workflow, "status": "running",
                       "attempt": execution.attempt})


def execution_finished(execution: Execution, status: str, errors: list[str] | None) -> None:
    workflow = workflow_name(execution)
    EXECUTIONS_FINISHED.labels(workflow, status).inc()
    duration = None
    if execution.started_at is not None and execution.ended_at is not None:
        duration = round((execution.ended_at - execution.started_at).total_seconds(), 3)
    took = f" in {duration:.3f} s" if duration is not None else ""
    because = f": {'; '.join(errors)}" if errors else ""
    logger.info("execution %s of workflow %r %s%s%s", execution.id, workflow, status, took, because,
                extra={"execution_id": str(execution.id), "workflow": workflow, "status": status,
                       "duration_seconds": duration})


def task_ran(task_type: str, outcome: object, seconds: float) -> None:
    """One attempt of a task took ``seconds``; its outcome is a Done, Park or Fail."""
    kind = type(outcome).__name__
    TASK_DURATION.labels(task_type or "(unknown)", OUTCOMES.get(kind, "failed")).observe(seconds)


def live_execution_gauges() -> Iterable[Metric]:
    """Executions queued, running and waiting now: a count over the status index's few live rows."""
    gauge = GaugeMetricFamily("flowgate_executions", "Executions not finished yet, by status.", labels=["status"])
    counts = dict(Execution.objects.filter(status__in=LIVE_STATUSES).order_by().values_list("status")
                  .annotate(n=Count("pk")).values_list("status", "n"))
    for status in LIVE_STATUSES:
        gauge.add_metric([str(status)], counts.get(status, 0))
    yield gauge
