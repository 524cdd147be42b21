import pytest

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
