"""What the engine announces (executions.signals), heard by a receiver as a feature above it would."""

from __future__ import annotations

import pytest

from executions.models import ExecutionStatus, TaskRunStatus
from executions.services import cancel_execution
from executions.signals import cancel_requested, execution_finished, task_parked
from tests.executions.factories import ExecutionFactory
from tests.workflows.factories import WorkflowFactory

pytestmark = pytest.mark.django_db

UID = "tests.executions.test_signals"


@pytest.fixture
def heard():
    """Connect a receiver to an announcement for one test; what it heard, in order."""
    calls: list[tuple[str, dict]] = []
    connected = []

    def listen(announcement, *, when=None, fail=False):
        def receiver(**kwargs):
            calls.append((announcement.name, kwargs))
            if fail:
                raise RuntimeError("a feature's bug")
        announcement.connect(receiver, dispatch_uid=f"{UID}.{announcement.name}", when=when)
        connected.append(announcement)

    yield listen, calls
    for announcement in connected:
        announcement.disconnect(dispatch_uid=f"{UID}.{announcement.name}")


def test_a_task_that_waits_is_announced_with_its_execution_and_task_run(project_a, heard):
    listen, calls = heard
    listen(task_parked)
    execution = ExecutionFactory(run=True, workflow=WorkflowFactory(project=project_a, tasks=[
        {"name": "nap", "type": "delay", "config": {"seconds": 3600}}]))
    assert execution.status == ExecutionStatus.WAITING
    [(name, kwargs)] = calls
    assert (kwargs["execution"].id, kwargs["task_run"].name, kwargs["task_run"].status) == \
        (execution.id, "nap", TaskRunStatus.WAITING)


def test_an_end_and_a_cancel_are_announced(project_a, heard):
    listen, calls = heard
    listen(execution_finished)
    listen(cancel_requested)
    execution = ExecutionFactory(run=True, workflow=WorkflowFactory(project=project_a, tasks=[
        {"name": "nap", "type": "delay", "config": {"seconds": 3600}}]))
    cancel_execution(execution)
    assert [name for name, _ in calls] == ["cancel_requested", "execution_finished"]
    finished = calls[1][1]
    assert (finished["execution"].id, finished["execution"].status, finished["task_types"]) == \
        (execution.id, ExecutionStatus.CANCELLED, {"delay"})


def test_a_receiver_is_called_only_when_its_test_holds(project_a, heard):
    listen, calls = heard
    listen(execution_finished, when=lambda execution, task_types: "approval" in task_types)
    ExecutionFactory(run=True, workflow=WorkflowFactory(project=project_a, tasks=[
        {"name": "a", "type": "set", "config": {"values": {}}}]))
    assert calls == []


def test_a_receiver_that_fails_is_undone_alone_and_the_engine_goes_on(project_a, heard):
    listen, calls = heard
    listen(execution_finished, fail=True)
    execution = ExecutionFactory(run=True, workflow=WorkflowFactory(project=project_a, tasks=[
        {"name": "a", "type": "set", "config": {"values": {"x": 1}}}]))
    assert len(calls) == 1  # it was called, and raised
    assert execution.status == ExecutionStatus.SUCCEEDED
