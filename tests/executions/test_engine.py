"""The engine runs a workflow's DAG: order, failure, branches, groups and their concurrency, logs in bulk,
and values it cannot store."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from executions.models import ExecutionStatus, Log, TaskRunStatus
from tests.executions.factories import ExecutionFactory
from tests.workflows.factories import WorkflowFactory

pytestmark = pytest.mark.django_db


def test_it_runs_a_linear_workflow_to_success(project_a):
    workflow = WorkflowFactory(project=project_a, tasks=[
        {"name": "greet", "type": "set", "config": {"values": {"greeting": "hello {{ input.who }}"}}},
        {"name": "note", "type": "log", "config": {"message": "{{ tasks.greet.output.greeting }}"}, "depends_on": ["greet"]},
        {"name": "answer", "type": "response", "config": {"value": {"said": "{{ tasks.greet.output.greeting }}"}},
         "depends_on": ["note"]},
    ])
    execution = ExecutionFactory(workflow=workflow, input={"who": "world"}, run=True)
    assert execution.status == ExecutionStatus.SUCCEEDED
    assert execution.return_value == {"said": "hello world"}
    runs = {tr.name: tr for tr in execution.task_runs.all()}
    assert {n: r.status for n, r in runs.items()} == {n: TaskRunStatus.SUCCEEDED for n in ("greet", "note", "answer")}
    assert runs["greet"].output == {"greeting": "hello world"}
    assert Log.objects.filter(execution=execution, message="hello world").exists()


def test_it_fails_the_execution_with_the_failing_tasks_message(project_a):
    workflow = WorkflowFactory(project=project_a, tasks=[
        {"name": "boom", "type": "fail", "config": {"message": "foo is not a valid email"}},
        {"name": "after", "type": "log", "config": {"message": "never"}, "depends_on": ["boom"]},
    ])
    execution = ExecutionFactory(workflow=workflow, run=True)
    assert execution.status == ExecutionStatus.FAILED
    assert execution.errors == ["boom: foo is not a valid email"]
    assert execution.task_runs.get(name="after").status == TaskRunStatus.SKIPPED


def test_it_skips_the_branch_a_condition_did_not_choose(project_a):
    workflow = WorkflowFactory(project=project_a, tasks=[
        {"name": "check", "type": "condition", "config": {"if": "input.amount > 100", "then": ["big"], "else": ["small"]}},
        {"name": "big", "type": "set", "config": {"values": {"size": "big"}}, "depends_on": ["check"]},
        {"name": "small", "type": "set", "config": {"values": {"size": "small"}}, "depends_on": ["check"]},
        {"name": "done", "type": "response", "config": {"value": "ok"}, "depends_on": ["big", "small"]},
    ])
    execution = ExecutionFactory(workflow=workflow, input={"amount": 500}, run=True)
    statuses = dict(execution.task_runs.values_list("name", "status"))
    assert statuses == {"check": "succeeded", "big": "succeeded", "small": "skipped", "done": "succeeded"}
    assert execution.status == ExecutionStatus.SUCCEEDED


# -- groups and logs -----------------------------------------------------------------------------------------
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


# -- values the engine cannot store or schedule --------------------------------------------------------------
@pytest.mark.parametrize("task", [
    {"name": "t", "type": "set", "config": {"values": {"x": "{{ '\\x00' }}"}}},
    {"name": "t", "type": "set", "config": {"values": {"x": "{{ (input.big | float) * 10 }}"}}},
    {"name": "t", "type": "log", "config": {"message": "a{{ '\\x00' }}b"}},
    {"name": "t", "type": "fail", "config": {"message": "a{{ '\\x00' }}b"}},
    {"name": "t", "type": "response", "config": {"value": {"name": "{{ '\\x00' }}"}}},
])
def test_an_unstorable_value_fails_the_task_instead_of_the_worker(project_a, task):
    wf = WorkflowFactory(project=project_a, tasks=[task])
    execution = ExecutionFactory(workflow=wf, input={"big": "1e308"}, run=True)
    assert execution.status == ExecutionStatus.FAILED
    assert execution.task_runs.get().status == TaskRunStatus.FAILED


@pytest.mark.parametrize("backoff", [{"delay": 1e300}, {"type": "exponential", "delay": 1e200}])
def test_a_huge_retry_delay_does_not_crash_the_worker(project_a, tmp_path, backoff):
    wf = WorkflowFactory(project=project_a, tasks=[
        {"name": "t", "type": "flaky", "retries": 2, "retry_backoff": backoff,
         "config": {"counter_file": str(tmp_path / "count"), "succeed_on_attempt": 2}}])
    execution = ExecutionFactory(workflow=wf, run=True)
    run = execution.task_runs.get()
    assert (execution.status, run.status, run.attempts) == (ExecutionStatus.RUNNING, TaskRunStatus.PENDING, 1)
    assert run.not_before is not None
