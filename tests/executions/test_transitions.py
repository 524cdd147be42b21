"""The state machines: every illegal move is refused, and guarded moves lose gracefully."""

import itertools

import pytest

from executions.engine import (
    IllegalTransition,
    check_execution_transition,
    check_task_transition,
    transition_execution,
)
from executions.models import (
    EXECUTION_TRANSITIONS,
    TASK_TRANSITIONS,
    Execution,
    ExecutionStatus,
    TaskRunStatus,
)
from tests.executions.factories import ExecutionFactory
from tests.workflows.factories import WorkflowFactory

LEGAL_EXECUTION = {
    ("queued", "running"), ("queued", "cancelled"),
    ("running", "waiting"), ("running", "succeeded"), ("running", "failed"), ("running", "cancelled"),
    ("waiting", "running"), ("waiting", "cancelled"),
    ("failed", "queued"),  # retry
}


@pytest.mark.parametrize("old,new", list(itertools.product(ExecutionStatus.values, repeat=2)))
def test_execution_transitions_follow_the_table(old, new):
    if (old, new) in LEGAL_EXECUTION:
        check_execution_transition(old, new)
    else:
        with pytest.raises(IllegalTransition):
            check_execution_transition(old, new)


def test_the_table_matches_the_documented_machine():
    assert {(o, n) for o, targets in EXECUTION_TRANSITIONS.items() for n in targets} == LEGAL_EXECUTION


@pytest.mark.parametrize("old,new", list(itertools.product(TaskRunStatus.values, repeat=2)))
def test_task_run_transitions_follow_the_table(old, new):
    if new in TASK_TRANSITIONS[old]:
        check_task_transition(old, new)
    else:
        with pytest.raises(IllegalTransition):
            check_task_transition(old, new)


def test_finished_task_runs_never_move_except_to_be_retried():
    assert TASK_TRANSITIONS[TaskRunStatus.SUCCEEDED] == frozenset()
    for status in (TaskRunStatus.FAILED, TaskRunStatus.SKIPPED, TaskRunStatus.CANCELLED):
        assert TASK_TRANSITIONS[status] == {TaskRunStatus.PENDING}


@pytest.mark.django_db
def test_a_guarded_transition_loses_when_someone_moved_first(project_a):

    execution = ExecutionFactory(workflow=WorkflowFactory(project=project_a, tasks=[
        {"name": "a", "type": "log", "config": {"message": "x"}}]))
    stale = Execution.objects.get(pk=execution.pk)
    assert transition_execution(execution, ExecutionStatus.RUNNING) is True
    # The stale copy still believes it is queued: its move must not apply.
    assert transition_execution(stale, ExecutionStatus.CANCELLED) is False
    assert Execution.objects.get(pk=execution.pk).status == ExecutionStatus.RUNNING
