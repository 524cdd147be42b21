"""A worker goes on with the task that its own step made ready: no message, the same guarantees."""

import uuid
from unittest import mock

import pytest

from executions import engine
from executions.models import ExecutionStatus
from executions.tasks import run_task_message
from tests.executions.factories import ExecutionFactory
from tests.workflows.factories import WorkflowFactory

pytestmark = pytest.mark.django_db

LINE = [
    {"name": "one", "type": "set", "config": {"values": {"n": 1}}},
    {"name": "two", "type": "set", "config": {"values": {"n": "{{ tasks.one.output.n + 1 }}"}}, "depends_on": ["one"]},
    {"name": "three", "type": "response", "config": {"value": "{{ tasks.two.output.n + 1 }}"}, "depends_on": ["two"]},
]


def run_counting_messages(workflow):
    with mock.patch.object(run_task_message, "apply_async", wraps=run_task_message.apply_async) as sent:
        execution = ExecutionFactory(workflow=workflow, run=True)
    return execution, [call.kwargs["args"][0] for call in sent.call_args_list]


def test_a_line_of_tasks_runs_without_a_run_message(project_a):
    execution, messages = run_counting_messages(WorkflowFactory(project=project_a, tasks=LINE))
    assert (execution.status, execution.return_value) == (ExecutionStatus.SUCCEEDED, 3)
    assert messages == []
    assert [tr.attempts for tr in execution.task_runs.order_by("position")] == [1, 1, 1]


def test_the_chain_stops_at_its_step_bound(project_a, settings):
    settings.FLOWGATE_CHAIN_MAX_STEPS = 1
    execution, messages = run_counting_messages(WorkflowFactory(project=project_a, tasks=LINE))
    assert (execution.status, execution.return_value) == (ExecutionStatus.SUCCEEDED, 3)
    names = dict(execution.task_runs.values_list("id", "name"))
    assert [names[uuid.UUID(m)] for m in messages] == ["two", "three"]


def test_of_two_ready_branches_one_continues_here_and_one_goes_to_the_broker(project_a):
    workflow = WorkflowFactory(project=project_a, tasks=[
        {"name": "start", "type": "set", "config": {"values": {}}},
        {"name": "left", "type": "set", "config": {"values": {}}, "depends_on": ["start"]},
        {"name": "right", "type": "set", "config": {"values": {}}, "depends_on": ["start"]},
        {"name": "join", "type": "response", "config": {"value": "both"}, "depends_on": ["left", "right"]},
    ])
    execution, messages = run_counting_messages(workflow)
    assert (execution.status, execution.return_value) == (ExecutionStatus.SUCCEEDED, "both")
    assert len(messages) == 1  # one branch was sent, so another worker can run it at the same time


def test_a_task_whose_time_out_outlasts_the_message_goes_to_the_broker(settings):
    settings.FLOWGATE_CHAIN_SECONDS, settings.FLOWGATE_CHAIN_MAX_STEPS = 10, 100
    chain = engine.Chain(time_limit=100.0)
    allowance = chain.allowance()
    # A next task may run here only if its own time-out ends before the message's hard limit (less the grace).
    assert 69 < allowance <= 100 - engine.HARD_LIMIT_GRACE_SECONDS
    assert engine.Chain(time_limit=None).allowance() == float("inf")
    chain.steps = 100
    assert chain.allowance() is None
    assert engine.message_time_limit({"timeout_seconds": 600}) == 600 + 10 + engine.HARD_LIMIT_GRACE_SECONDS


def test_templates_read_only_the_tasks_they_name():
    assert engine.mentioned_tasks("{{ tasks.one.output.n }} and {{ tasks['two-b'].status }}") == {"one", "two-b"}
    assert engine.mentioned_tasks("no templates here") == set()
    assert engine.mentioned_tasks("{% for t in tasks %}{{ t }}{% endfor %}") is None
    assert engine.mentioned_tasks("{{ tasks.items() }}") is None


def test_run_messages_show_their_task_and_execution(project_a):
    workflow = WorkflowFactory(project=project_a, tasks=[
        {"name": "left", "type": "set", "config": {"values": {}}},
        {"name": "right", "type": "set", "config": {"values": {}}},
    ])
    with mock.patch.object(run_task_message, "apply_async", wraps=run_task_message.apply_async) as sent:
        execution = ExecutionFactory(workflow=workflow, run=True)
    (call,) = sent.call_args_list  # one branch ran inline, the other was sent
    task_run = execution.task_runs.get(pk=call.kwargs["args"][0])
    assert call.kwargs["argsrepr"] == (f"(task_run={task_run.id}, task={task_run.name!r}, "
                                       f"execution={execution.id})")
