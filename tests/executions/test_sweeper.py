"""The sweeper recovers what lost messages and dead workers leave behind."""

import threading
from datetime import timedelta
from unittest import mock

import pytest
import time_machine
from django.utils import timezone

from executions.engine import advance
from executions.models import Execution, ExecutionStatus, TaskRun, TaskRunStatus
from executions.services import sweep
from tests.executions.factories import ExecutionFactory
from tests.workflows.factories import WorkflowFactory

pytestmark = pytest.mark.django_db

LATER = timedelta(minutes=10)


def one_task(project):
    return WorkflowFactory(project=project, tasks=[
        {"name": "only", "type": "response", "config": {"value": "done"}}])


def test_it_resends_a_queued_execution_whose_message_was_lost(project_a, django_capture_on_commit_callbacks):
    with mock.patch("executions.tasks.advance_message.apply_async") as lost:
        execution = ExecutionFactory(workflow=one_task(project_a), run=True)
    assert lost.called  # the message "was sent" but never arrived
    assert Execution.objects.get(pk=execution.pk).status == ExecutionStatus.QUEUED
    with time_machine.travel(LATER), django_capture_on_commit_callbacks(execute=True):
        assert sweep()["requeued"] == 1
    execution.refresh_from_db()
    assert (execution.status, execution.return_value) == ("succeeded", "done")


def test_it_leaves_fresh_queued_executions_alone(project_a):
    with mock.patch("executions.tasks.advance_message.apply_async"):
        ExecutionFactory(workflow=one_task(project_a))
    assert sweep()["requeued"] == 0


def test_it_takes_back_a_task_whose_worker_died(project_a, django_capture_on_commit_callbacks):
    execution = ExecutionFactory(workflow=one_task(project_a))
    with mock.patch("executions.tasks.run_task_message.apply_async"):
        with django_capture_on_commit_callbacks(execute=True):
            advance(execution.id)
    # A worker claimed the task, then died: the run stays "running" with a lease that expires.
    TaskRun.objects.filter(execution=execution).update(
        status=TaskRunStatus.RUNNING, attempts=1, dispatched_at=None, lease_expires_at=timezone.now() + timedelta(seconds=30))
    assert sweep()["recovered"] == 0  # the lease is still valid
    with time_machine.travel(LATER), django_capture_on_commit_callbacks(execute=True):
        assert sweep()["recovered"] == 1
    execution.refresh_from_db()
    run = execution.task_runs.get()
    assert (execution.status, run.status, run.attempts) == ("succeeded", "succeeded", 2)
    assert execution.logs.filter(level="warning", message__contains="lost its worker").exists()


def test_it_redispatches_a_task_whose_run_message_was_lost(project_a, django_capture_on_commit_callbacks):
    execution = ExecutionFactory(workflow=one_task(project_a))
    with mock.patch("executions.tasks.run_task_message.apply_async"):
        with django_capture_on_commit_callbacks(execute=True):
            advance(execution.id)
    assert TaskRun.objects.get(execution=execution).dispatched_at is not None
    with time_machine.travel(LATER), django_capture_on_commit_callbacks(execute=True):
        assert sweep()["redispatched"] == 1
    execution.refresh_from_db()
    assert execution.status == ExecutionStatus.SUCCEEDED


def test_a_duplicate_run_message_does_nothing(project_a, django_capture_on_commit_callbacks):
    from executions.engine import run_task

    execution = ExecutionFactory(workflow=one_task(project_a))
    with django_capture_on_commit_callbacks(execute=True):
        advance(execution.id)
    run = TaskRun.objects.get(execution=execution)
    assert run.status == TaskRunStatus.SUCCEEDED
    run_task(run.id)  # a late duplicate
    run.refresh_from_db()
    assert (run.status, run.attempts) == ("succeeded", 1)


def test_a_worker_presumed_lost_cannot_record_over_the_new_attempt(project_a):
    from executions.engine import Done, LogBuffer, claim_task_run, record_outcome

    execution = ExecutionFactory(workflow=one_task(project_a))
    run = TaskRun.objects.get(execution=execution)
    TaskRun.objects.filter(pk=run.pk).update(dispatched_at=timezone.now())
    slow = claim_task_run(run.id)  # attempt 1, whose worker then stalls past its lease
    with time_machine.travel(LATER), mock.patch("executions.tasks.run_task_message.apply_async"):
        sweep()
        fresh = claim_task_run(run.id)  # attempt 2 on another worker
    assert (slow.task_run.attempts, fresh.task_run.attempts) == (1, 2)
    record_outcome(slow, Done(output="late"), LogBuffer(execution.id, run.id))
    run.refresh_from_db()
    assert (run.status, run.attempts, run.output) == ("running", 2, None)
    assert execution.logs.filter(message__contains="its result was discarded").exists()


@pytest.mark.django_db(transaction=True)  # the lease keeper writes from a thread of its own, on its own connection
def test_a_failed_lease_renewal_does_not_stop_the_next_ones(project_a, monkeypatch, settings):
    from django.db import OperationalError
    from django.db.models import QuerySet

    from executions.leases import LeaseKeeper
    from tests.conftest import wait_until

    settings.FLOWGATE_TASK_LEASE_SECONDS = 2  # a beat every 2/3 s
    settings.CELERY_TASK_ALWAYS_EAGER = False  # as in a worker process
    with mock.patch("executions.tasks.advance_message.apply_async"):
        execution = ExecutionFactory(workflow=one_task(project_a))
    run = TaskRun.objects.get(execution=execution)
    expired = timezone.now() - LATER
    TaskRun.objects.filter(pk=run.pk).update(status=TaskRunStatus.RUNNING, attempts=1, lease_expires_at=expired)
    failed = []
    real_update = QuerySet.update

    def update(queryset, **kwargs):
        if threading.current_thread().name == "lease-keeper" and not failed:
            failed.append(kwargs)
            raise OperationalError("server closed the connection unexpectedly")
        return real_update(queryset, **kwargs)

    monkeypatch.setattr(QuerySet, "update", update)
    keeper = LeaseKeeper()
    keeper.hold(run.id, attempt=1)
    try:
        wait_until(lambda: TaskRun.objects.get(pk=run.pk).lease_expires_at > expired, timeout=10)
    finally:
        keeper.stop()
    assert failed  # the first renewal failed; a later one renewed the lease


def test_the_lease_keeper_renews_only_the_attempts_it_holds(project_a):
    from executions.leases import LeaseKeeper

    with mock.patch("executions.tasks.advance_message.apply_async"):
        execution = ExecutionFactory(workflow=one_task(project_a))
    run = TaskRun.objects.get(execution=execution)
    expired = timezone.now() - LATER
    TaskRun.objects.filter(pk=run.pk).update(status=TaskRunStatus.RUNNING, attempts=2, lease_expires_at=expired)
    keeper = LeaseKeeper()
    keeper._held[run.id] = 1  # a stale attempt: the sweeper gave the task to another worker
    assert keeper.renew() == 0
    keeper._held[run.id] = 2
    assert keeper.renew() == 1
    assert TaskRun.objects.get(pk=run.pk).lease_expires_at > timezone.now()
