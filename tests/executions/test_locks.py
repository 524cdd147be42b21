"""The engine's row locks: what holds an execution's lock never makes a claim or a log line wait on it.

An engine step locks the execution's row and may then change its task runs (ending the pending
ones when the execution fails, say). A worker claiming one of those task runs writes a log line
that references the execution. If the step's lock blocked that reference, each would wait for the
other: PostgreSQL would break the deadlock by failing one of them.
"""

import threading
from unittest import mock

import pytest
from django.db import connection, connections, transaction
from django.utils import timezone

from executions import engine
from executions.models import Log, TaskRun, TaskRunStatus
from tests.executions.factories import ExecutionFactory
from tests.workflows.factories import WorkflowFactory

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks are PostgreSQL's"),
]


def held_execution_lock(execution_id):
    """A thread holding the engine's lock on the execution's row until told to let go."""
    locked, release = threading.Event(), threading.Event()

    def hold() -> None:
        try:
            with transaction.atomic():
                engine.lock_execution(execution_id)
                locked.set()
                release.wait(20)
        finally:
            connections.close_all()

    thread = threading.Thread(target=hold, name="execution-lock-holder")
    thread.start()
    assert locked.wait(20), "the lock holder never got the execution's lock"
    return thread, release


def within_a_lock_timeout(function):
    """Run ``function`` in a transaction that gives up after 2 s of waiting for a lock (an error)."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL lock_timeout = '2s'")
        return function()


def test_a_worker_claims_a_task_while_an_engine_step_holds_the_execution(project_a):
    workflow = WorkflowFactory(project=project_a, tasks=[
        {"name": "a", "type": "response", "config": {"value": 1}},
        {"name": "b", "type": "response", "config": {"value": 2}}])
    with mock.patch("executions.tasks.advance_message.apply_async"):
        execution = ExecutionFactory(workflow=workflow)
    run = TaskRun.objects.get(execution=execution, name="b")
    TaskRun.objects.filter(pk=run.pk).update(status=TaskRunStatus.PENDING, dispatched_at=timezone.now())

    holder, release = held_execution_lock(execution.id)
    try:
        prepared = within_a_lock_timeout(lambda: engine.claim_task_run(run.id))
    finally:
        release.set()
        holder.join()

    assert prepared is not None
    assert TaskRun.objects.get(pk=run.pk).status == TaskRunStatus.RUNNING
    assert Log.objects.filter(task_run_id=run.pk, message__startswith="Task b started").count() == 1


def test_a_log_line_is_written_while_an_engine_step_holds_the_execution(project_a):
    workflow = WorkflowFactory(project=project_a, tasks=[{"name": "a", "type": "response", "config": {"value": 1}}])
    with mock.patch("executions.tasks.advance_message.apply_async"):
        execution = ExecutionFactory(workflow=workflow)

    holder, release = held_execution_lock(execution.id)
    try:
        within_a_lock_timeout(lambda: Log.objects.create(execution_id=execution.id, message="written meanwhile"))
    finally:
        release.set()
        holder.join()

    assert Log.objects.filter(execution_id=execution.id, message="written meanwhile").exists()
