"""Engine promises not covered elsewhere: logs written in bulk, and a group's bounded concurrency."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from executions.models import Log
from tests.executions.factories import ExecutionFactory
from tests.workflows.factories import WorkflowFactory

pytestmark = pytest.mark.django_db


def log_inserts(queries) -> int:
    return sum(1 for q in queries if q["sql"].lstrip().upper().startswith('INSERT INTO "EXECUTIONS_LOG"'))


def test_it_writes_log_lines_in_bulk_not_one_insert_per_line(project_a):
    workflow = WorkflowFactory(project=project_a, tasks=[
        {"name": "many", "type": "group", "config": {"items": list(range(50)), "tasks": [
            {"name": "say", "type": "log", "config": {"message": "item {{ item }}"}}]}},
        {"name": "last", "type": "log", "config": {"message": "done"}, "depends_on": ["many"]},
    ])
    with CaptureQueriesContext(connection) as queries:
        execution = ExecutionFactory(workflow=workflow, run=True)
    assert execution.status == "succeeded", execution.errors
    lines = Log.objects.filter(execution=execution).count()
    assert lines > 50
    # A handful of INSERTs (a few per task run and for the execution itself), not one per line.
    assert log_inserts(queries.captured_queries) <= 10, log_inserts(queries.captured_queries)


def overlap(intervals: list[tuple[float, float]]) -> int:
    """The largest number of intervals running at the same instant."""
    events = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals],
                    key=lambda e: (e[0], e[1]))
    running = most = 0
    for _, step in events:
        running += step
        most = max(most, running)
    return most


@pytest.mark.parametrize(("asked", "allowed"), [(2, 2), (1, 1)])
def test_a_group_runs_at_most_its_concurrency_at_once(project_a, asked, allowed):
    workflow = WorkflowFactory(project=project_a, tasks=[
        {"name": "batch", "type": "group", "config": {"items": list(range(6)), "concurrency": asked, "tasks": [
            {"name": "nap", "type": "sleep", "config": {"seconds": 0.05}}]}},
    ])
    execution = ExecutionFactory(workflow=workflow, run=True)
    assert execution.status == "succeeded", execution.errors
    output = execution.task_runs.get(name="batch").output
    assert output["count"] == 6
    intervals = [(r["nap"]["started"], r["nap"]["ended"]) for r in output["results"]]
    assert overlap(intervals) <= allowed
    assert Log.objects.filter(execution=execution, message__contains=f"with concurrency {allowed};").exists()


def test_a_group_caps_a_larger_concurrency_at_sixteen(project_a):
    workflow = WorkflowFactory(project=project_a, tasks=[
        {"name": "batch", "type": "group", "config": {"items": list(range(3)), "concurrency": 100, "tasks": [
            {"name": "say", "type": "log", "config": {"message": "{{ item }}"}}]}},
    ])
    execution = ExecutionFactory(workflow=workflow, run=True)
    assert execution.status == "succeeded", execution.errors
    assert Log.objects.filter(execution=execution, message__contains="with concurrency 16;").exists()
