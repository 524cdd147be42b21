"""Each built-in task type, run by the (eager) engine."""

from datetime import timedelta

import pytest
import time_machine

from approvals.models import Approval, ApprovalStatus
from executions.models import Execution, ExecutionStatus, TaskRunStatus
from executions.services import sweep
from tests.executions.factories import ExecutionFactory
from tests.workflows.factories import WorkflowFactory
from workflows.registry import task_types

pytestmark = pytest.mark.django_db


def statuses(execution):
    return dict(execution.task_runs.values_list("name", "status"))


def test_log_writes_a_line_at_its_level(project_a):
    wf = WorkflowFactory(project=project_a, tasks=[
        {"name": "say", "type": "log", "config": {"message": "n={{ input.n }}", "level": "warning"}}])
    execution = ExecutionFactory(workflow=wf, input={"n": 7}, run=True)
    assert execution.logs.filter(level="warning", message="n=7", task_run__name="say").exists()


def test_set_puts_rendered_values_in_the_output(project_a):
    wf = WorkflowFactory(project=project_a, tasks=[
        {"name": "calc", "type": "set", "config": {"values": {"double": "{{ input.n * 2 }}", "label": "n is {{ input.n }}"}}}])
    execution = ExecutionFactory(workflow=wf, input={"n": 21}, run=True)
    assert execution.task_runs.get().output == {"double": 42, "label": "n is 21"}


def test_response_sets_the_return_value(project_a):
    wf = WorkflowFactory(project=project_a, tasks=[
        {"name": "r", "type": "response", "config": {"value": {"ok": True, "n": "{{ input.n }}"}}}])
    assert ExecutionFactory(workflow=wf, input={"n": 1}, run=True).return_value == {"ok": True, "n": 1}


def test_fail_fails_with_its_message_and_no_retry(project_a):
    wf = WorkflowFactory(project=project_a, tasks=[
        {"name": "f", "type": "fail", "retries": 3, "config": {"message": "bad {{ input.x }}"}}])
    execution = ExecutionFactory(workflow=wf, input={"x": "input"}, run=True)
    run = execution.task_runs.get()
    assert (execution.status, run.status, run.message, run.attempts) == ("failed", "failed", "bad input", 1)


def test_a_template_error_fails_the_task_naming_task_and_expression(project_a):
    wf = WorkflowFactory(project=project_a, tasks=[
        {"name": "oops", "type": "log", "config": {"message": "{{ input.nothing.here }}"}}])
    execution = ExecutionFactory(workflow=wf, input={}, run=True)
    message = execution.task_runs.get().message
    assert "oops" in message and "input.nothing.here" in message
    assert execution.status == ExecutionStatus.FAILED


def test_a_sandbox_escape_in_a_config_fails_the_task(project_a):
    wf = WorkflowFactory(project=project_a, tasks=[
        {"name": "evil", "type": "set", "config": {"values": {"x": "{{ ''.__class__.__mro__ }}"}}}])
    execution = ExecutionFactory(workflow=wf, input={}, run=True)
    run = execution.task_runs.get()
    assert run.status == TaskRunStatus.FAILED and "__class__" in run.message
    assert run.output is None


def test_condition_false_runs_the_else_branch(project_a):
    wf = WorkflowFactory(project=project_a, tasks=[
        {"name": "c", "type": "condition", "config": {"if": "{{ input.n > 5 }}", "then": ["yes"], "else": ["no"]}},
        {"name": "yes", "type": "log", "config": {"message": "y"}, "depends_on": ["c"]},
        {"name": "no", "type": "log", "config": {"message": "n"}, "depends_on": ["c"]},
        {"name": "after_yes", "type": "log", "config": {"message": "y2"}, "depends_on": ["yes"]},
    ])
    execution = ExecutionFactory(workflow=wf, input={"n": 1}, run=True)
    assert statuses(execution) == {"c": "succeeded", "yes": "skipped", "no": "succeeded", "after_yes": "skipped"}
    assert execution.task_runs.get(name="c").output == {"result": False, "skipped": ["yes"]}


def test_skip_on_error_lets_dependants_run(project_a):
    wf = WorkflowFactory(project=project_a, tasks=[
        {"name": "shaky", "type": "fail", "skip_on_error": True, "config": {"message": "meh"}},
        {"name": "after", "type": "response", "config": {"value": "{{ tasks.shaky.status }}"}, "depends_on": ["shaky"]},
    ])
    execution = ExecutionFactory(workflow=wf, run=True)
    assert execution.status == ExecutionStatus.SUCCEEDED
    assert execution.return_value == "failed"
    assert statuses(execution) == {"shaky": "failed", "after": "succeeded"}


def test_group_runs_the_sub_dag_for_each_item(project_a):
    wf = WorkflowFactory(project=project_a, tasks=[{"name": "g", "type": "group", "config": {
        "items": "{{ input.names }}", "concurrency": 2,
        "tasks": [
            {"name": "hello", "type": "set", "config": {"values": {"text": "hi {{ item }}"}}},
            {"name": "shout", "type": "set", "config": {"values": {"loud": "{{ tasks.hello.output.text | upper }}"}},
             "depends_on": ["hello"]},
        ]}}])
    execution = ExecutionFactory(workflow=wf, input={"names": ["ada", "bob", "cy"]}, run=True)
    output = execution.task_runs.get().output
    assert output["count"] == 3
    assert [r["shout"]["loud"] for r in output["results"]] == ["HI ADA", "HI BOB", "HI CY"]


def test_group_fails_when_an_item_fails(project_a):
    wf = WorkflowFactory(project=project_a, tasks=[{"name": "g", "type": "group", "config": {
        "items": [1, 2], "tasks": [{"name": "f", "type": "fail", "config": {"message": "item {{ item }} bad"}}]}}])
    execution = ExecutionFactory(workflow=wf, run=True)
    assert execution.status == ExecutionStatus.FAILED
    assert "item 1 bad" in execution.task_runs.get().message


def test_a_registered_python_callable_runs_with_config_and_input(project_a):
    wf = WorkflowFactory(project=project_a, tasks=[
        {"name": "e", "type": "echo", "config": {"greeting": "{{ input.g }}"}}])
    execution = ExecutionFactory(workflow=wf, input={"g": "hey"}, run=True)
    assert execution.task_runs.get().output == {"config": {"greeting": "hey"}, "input": {"g": "hey"}}


def returns_a_set(config, context):
    """Return a Python set, which no JSON column can hold."""
    return {"tags": {"a", "b"}}


@pytest.fixture
def set_returning_type(settings):
    """A deployment's task type, ``returns_set``, whose output is not plain JSON."""
    settings.FLOWGATE_TASK_TYPES = [*settings.FLOWGATE_TASK_TYPES,
                                    "returns_set=tests.executions.test_task_types:returns_a_set"]
    task_types.cache_clear()
    yield
    task_types.cache_clear()


@pytest.mark.parametrize("task, kind", [
    ({"name": "t", "type": "set", "config": {"values": {"r": "{{ range(3) }}"}}}, "range"),
    ({"name": "t", "type": "returns_set", "config": {}}, "set"),
])
def test_a_value_that_is_not_plain_json_fails_the_task_instead_of_leaving_it_running(
        project_a, set_returning_type, task, kind):
    wf = WorkflowFactory(project=project_a, tasks=[task])
    execution = ExecutionFactory(workflow=wf, run=True)
    run = execution.task_runs.get()
    assert (execution.status, run.status, run.attempts) == (ExecutionStatus.FAILED, TaskRunStatus.FAILED, 1)
    assert "cannot be stored" in run.message and f"not {kind}" in run.message
    assert run.lease_expires_at is None  # nothing for the sweeper to take back


def test_delay_parks_the_execution_until_the_sweeper_wakes_it(project_a, django_capture_on_commit_callbacks):
    wf = WorkflowFactory(project=project_a, tasks=[
        {"name": "pause", "type": "delay", "config": {"seconds": 3600}},
        {"name": "after", "type": "response", "config": {"value": "woke"}, "depends_on": ["pause"]},
    ])
    execution = ExecutionFactory(workflow=wf, run=True)
    assert execution.status == ExecutionStatus.WAITING
    assert execution.task_runs.get(name="pause").status == TaskRunStatus.WAITING
    with time_machine.travel(timedelta(minutes=1)), django_capture_on_commit_callbacks(execute=True):
        assert sweep()["woken"] == 0
    with time_machine.travel(timedelta(hours=2)), django_capture_on_commit_callbacks(execute=True):
        assert sweep()["woken"] == 1
    execution.refresh_from_db()
    assert (execution.status, execution.return_value) == ("succeeded", "woke")


@pytest.mark.parametrize("task, config, message", [
    ("delay", {"seconds": "{{ input.value }}"}, "'seconds' must be a number, not 'inf'"),
    ("http", {"url": "http://127.0.0.1:9/", "timeout": "{{ input.value }}"},
     "'timeout' must be a number of seconds, not 'inf'"),
    ("group", {"items": [1], "concurrency": "{{ input.value }}",
               "tasks": [{"name": "each", "type": "log", "config": {"message": "x"}}]},
     "'concurrency' must be a whole number, not 'inf'"),
])
def test_a_number_setting_that_renders_to_no_finite_number_fails_the_task_once(project_a, task, config, message):
    wf = WorkflowFactory(project=project_a, tasks=[{"name": "step", "type": task, "config": config, "retries": 2}])
    execution = ExecutionFactory(workflow=wf, input={"value": "inf"}, run=True)
    run = execution.task_runs.get(name="step")
    assert (execution.status, run.status, run.attempts) == (ExecutionStatus.FAILED, TaskRunStatus.FAILED, 1)
    assert run.message == message


def test_approval_parks_the_execution_on_a_pending_approval(project_a):
    wf = WorkflowFactory(project=project_a, tasks=[
        {"name": "ok", "type": "approval", "config": {"instructions": "check {{ input.n }}"}}])
    execution = ExecutionFactory(workflow=wf, input={"n": 5}, run=True)
    approval = Approval.objects.get(execution=execution)
    assert (execution.status, approval.status, approval.instructions) == ("waiting", ApprovalStatus.PENDING, "check 5")


def test_subworkflow_runs_a_child_and_takes_its_return_value(project_a):
    WorkflowFactory(project=project_a,
                    tasks=[{"name": "r", "type": "response", "config": {"value": "{{ input.x + 1 }}"}}],
                    alias="child")
    parent = WorkflowFactory(project=project_a, tasks=[
        {"name": "call", "type": "subworkflow", "config": {"workflow": "child", "input": {"x": "{{ input.x }}"}}},
        {"name": "r", "type": "response", "config": {"value": "{{ tasks.call.output.return_value }}"}, "depends_on": ["call"]},
    ])
    execution = ExecutionFactory(workflow=parent, input={"x": 41}, run=True)
    child = Execution.objects.get(parent=execution)
    assert child.status == ExecutionStatus.SUCCEEDED
    assert (execution.status, execution.return_value) == ("succeeded", 42)


def test_a_subworkflow_child_names_its_parent_as_its_starter_from_its_first_log_line(project_a):
    WorkflowFactory(project=project_a, tasks=[{"name": "r", "type": "response", "config": {"value": 1}}],
                    name="Child", alias="child")
    parent = WorkflowFactory(project=project_a, tasks=[
        {"name": "call", "type": "subworkflow", "config": {"workflow": "child"}}])
    execution = ExecutionFactory(workflow=parent, run=True)
    child = Execution.objects.get(parent=execution)
    assert child.started_by_label == f"execution:{execution.id}"
    first = child.logs.order_by("timestamp", "id").first()
    assert first.message == f"Execution queued (workflow 'Child' v1) by execution:{execution.id}."


def test_subworkflow_fails_when_the_child_fails(project_a):
    WorkflowFactory(project=project_a,
                    tasks=[{"name": "f", "type": "fail", "config": {"message": "child broke"}}],
                    alias="broken")
    parent = WorkflowFactory(project=project_a, tasks=[
        {"name": "call", "type": "subworkflow", "config": {"workflow": "broken"}}])
    execution = ExecutionFactory(workflow=parent, run=True)
    assert execution.status == ExecutionStatus.FAILED
    assert "child broke" in execution.errors[0]


def test_update_record_without_a_record_fails_clearly(project_a):
    wf = WorkflowFactory(project=project_a, tasks=[
        {"name": "u", "type": "update_record", "config": {"stage": "Done"}}])
    execution = ExecutionFactory(workflow=wf, run=True)
    assert "no record" in execution.task_runs.get().message
