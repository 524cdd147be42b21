"""Retrying a failed execution from one of its tasks (``executions.services.retry_execution_from``)."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

import pytest
import time_machine
from django.test import TestCase
from rest_framework.exceptions import ValidationError

from config.errors import Conflict
from executions.models import Execution, ExecutionStatus, TaskRunStatus
from executions.services import retry_execution_from, sweep
from tests.conftest import wait_until
from tests.executions.factories import ExecutionFactory
from tests.workflows.factories import WorkflowFactory


def pipeline(project, counter_file) -> list[dict]:
    """fetch -> process (fails on its first run, succeeds on the next) -> report; audit beside them."""
    return WorkflowFactory(project=project, name="nightly-report", tasks=[
        {"name": "fetch", "type": "set", "config": {"values": {"rows": 3}}},
        {"name": "audit", "type": "echo", "config": {"note": "side branch"}},
        {"name": "process", "type": "flaky", "depends_on": ["fetch"],
         "config": {"counter_file": str(counter_file), "succeed_on_attempt": 2}},
        {"name": "report", "type": "response", "depends_on": ["process"],
         "config": {"value": {"rows": "{{ tasks.fetch.output.rows }}",
                              "seen": "{{ tasks.process.output.attempts_seen }}"}}},
    ])


def runs(execution) -> dict:
    return {tr.name: tr for tr in execution.task_runs.all()}


@pytest.mark.django_db
class TestRetryFrom:
    def test_it_reruns_the_task_and_what_follows_and_keeps_upstream_outputs(self, project_a, tmp_path):
        execution = ExecutionFactory(workflow=pipeline(project_a, tmp_path / "count"), run=True)
        assert execution.status == ExecutionStatus.FAILED
        before = runs(execution)
        assert (before["process"].status, before["report"].status) == ("failed", "skipped")

        with TestCase.captureOnCommitCallbacks(execute=True):
            retry_execution_from(execution, "process")

        execution.refresh_from_db()
        after = runs(execution)
        assert execution.status == ExecutionStatus.SUCCEEDED
        assert execution.attempt == 2
        assert execution.return_value == {"rows": 3, "seen": 2}
        # The succeeded task upstream was not run again: same start, same single attempt.
        assert (after["fetch"].attempts, after["fetch"].started_at) == (1, before["fetch"].started_at)
        assert after["audit"].status == TaskRunStatus.SUCCEEDED  # skipped or not, the side branch ends done
        assert after["process"].attempts == 1 and after["process"].status == TaskRunStatus.SUCCEEDED
        assert execution.logs.filter(message__startswith="Retry from task process (attempt 2)").exists()

    def test_a_succeeded_task_runs_again_with_everything_downstream(self, project_a, tmp_path):
        execution = ExecutionFactory(workflow=pipeline(project_a, tmp_path / "count"), run=True)
        fetched_at = runs(execution)["fetch"].started_at

        with TestCase.captureOnCommitCallbacks(execute=True):
            retry_execution_from(execution, "fetch")

        execution.refresh_from_db()
        after = runs(execution)
        assert execution.status == ExecutionStatus.SUCCEEDED
        assert after["fetch"].started_at > fetched_at
        assert after["audit"].status == TaskRunStatus.SUCCEEDED
        assert execution.logs.filter(message="Task fetch will run again.").exists()

    def test_it_refuses_an_execution_that_did_not_fail(self, project_a):
        workflow = WorkflowFactory(project=project_a, tasks=[{"name": "a", "type": "set", "config": {"values": {}}}])
        execution = ExecutionFactory(workflow=workflow, run=True)
        assert execution.status == ExecutionStatus.SUCCEEDED
        with pytest.raises(Conflict, match="only failed executions can be retried"):
            retry_execution_from(execution, "a")
        assert Execution.objects.get(pk=execution.pk).attempt == 1

    def test_it_names_the_tasks_when_the_task_is_unknown(self, project_a, tmp_path):
        execution = ExecutionFactory(workflow=pipeline(project_a, tmp_path / "count"), run=True)
        with pytest.raises(ValidationError) as refused:
            retry_execution_from(execution, "nope")
        assert "pick one of audit, fetch, process, report" in str(refused.value.detail)
        assert Execution.objects.get(pk=execution.pk).status == ExecutionStatus.FAILED


@pytest.mark.e2e
@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_retry_from_a_task_whose_message_is_lost_is_delivered_by_the_sweeper(live_worker, project_a, tmp_path):
    """The retry is committed before its message: a message lost on the way is sent again by the sweeper."""
    execution = ExecutionFactory(workflow=pipeline(project_a, tmp_path / "count"))
    wait_until(lambda: Execution.objects.filter(pk=execution.pk, status="failed").exists(), timeout=60)

    with mock.patch("executions.tasks.advance_message.apply_async") as dropped:
        retry_execution_from(execution, "process")
    assert dropped.call_count == 1
    assert Execution.objects.get(pk=execution.pk).status == ExecutionStatus.QUEUED
    with time_machine.travel(timedelta(minutes=5)):
        assert sweep()["requeued"] == 1

    def finished():
        row = Execution.objects.get(pk=execution.pk)
        return row if row.is_terminal else None

    execution = wait_until(finished, timeout=60)
    assert (execution.status, execution.return_value) == ("succeeded", {"rows": 3, "seen": 2})
    assert runs(execution)["fetch"].attempts == 1


@pytest.mark.e2e
@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_retry_from_a_task_survives_a_worker_killed_mid_task(start_worker, project_a, tmp_path):
    """A worker dies while a re-run task runs: another worker finishes the retry, upstream still not re-run."""
    lease = {"FLOWGATE_TASK_LEASE_SECONDS": 3}
    doomed = start_worker(concurrency=1, **lease)
    workflow = WorkflowFactory(project=project_a, tasks=[
        {"name": "fetch", "type": "set", "config": {"values": {"rows": 3}}},
        {"name": "process", "type": "flaky", "depends_on": ["fetch"],
         "config": {"counter_file": str(tmp_path / "count"), "succeed_on_attempt": 2}},
        # Long enough that the kill below always lands while it sleeps.
        {"name": "long", "type": "sleep", "depends_on": ["process"], "config": {"seconds": 8}},
        {"name": "report", "type": "response", "depends_on": ["long"], "config": {"value": "recovered"}},
    ])
    execution = ExecutionFactory(workflow=workflow)
    wait_until(lambda: Execution.objects.filter(pk=execution.pk, status="failed").exists(), timeout=60)

    retry_execution_from(execution, "process")
    wait_until(lambda: execution.task_runs.filter(name="long", status="running").exists(), timeout=60)
    doomed.kill()  # SIGKILL to the whole worker: no chance to clean up
    start_worker(concurrency=1, **lease)

    def recovered():
        sweep()  # what celery beat runs every few seconds
        row = Execution.objects.get(pk=execution.pk)
        return row if row.is_terminal else None

    execution = wait_until(recovered, timeout=60, interval=0.5)
    assert (execution.status, execution.return_value, execution.attempt) == ("succeeded", "recovered", 2)
    after = runs(execution)
    assert after["long"].attempts == 2  # the killed run, then the one that finished
    assert (after["fetch"].attempts, after["process"].attempts) == (1, 1)


@pytest.mark.django_db
class TestRetryFromOverTheApi:
    def url(self, execution) -> str:
        return f"/api/v1/executions/{execution.id}/retry/"

    def test_a_task_in_the_body_reruns_it_and_what_follows(self, admin_api, project_a, tmp_path):
        execution = ExecutionFactory(workflow=pipeline(project_a, tmp_path / "count"), run=True)
        with TestCase.captureOnCommitCallbacks(execute=True):
            response = admin_api.post(self.url(execution), {"task": "fetch"}, format="json")
        assert response.status_code == 200, response.content
        assert (response.json()["status"], response.json()["attempt"]) == ("queued", 2)
        execution.refresh_from_db()
        assert execution.status == ExecutionStatus.SUCCEEDED
        after = runs(execution)
        # fetch succeeded the first time; asked for, it ran again (its attempt count starts over).
        assert after["fetch"].attempts == 1 and after["fetch"].started_at > execution.created_at
        assert execution.logs.filter(message__startswith="Retry from task fetch (attempt 2)").exists()

    def test_without_a_body_it_is_the_plain_retry(self, admin_api, project_a, tmp_path):
        execution = ExecutionFactory(workflow=pipeline(project_a, tmp_path / "count"), run=True)
        fetched = runs(execution)["fetch"].started_at
        with TestCase.captureOnCommitCallbacks(execute=True):
            response = admin_api.post(self.url(execution))
        assert response.status_code == 200, response.content
        execution.refresh_from_db()
        assert execution.status == ExecutionStatus.SUCCEEDED
        assert runs(execution)["fetch"].started_at == fetched  # not run again
        assert not execution.logs.filter(message__startswith="Retry from task").exists()

    @pytest.mark.parametrize("body, field", [({"task": "nope"}, "task"), ({"task": ""}, "task"),
                                             ({"task": ["process"]}, "task"), ({"task": "x" * 201}, "task")])
    def test_a_bad_task_is_a_400_that_says_what_is_wrong(self, admin_api, project_a, tmp_path, body, field):
        execution = ExecutionFactory(workflow=pipeline(project_a, tmp_path / "count"), run=True)
        response = admin_api.post(self.url(execution), body, format="json")
        assert response.status_code == 400, response.content
        assert [error["field"] for error in response.json()["errors"]] == [field]
        execution.refresh_from_db()
        assert (execution.status, execution.attempt) == (ExecutionStatus.FAILED, 1)  # untouched

    def test_an_unknown_task_names_the_ones_there_are(self, admin_api, project_a, tmp_path):
        execution = ExecutionFactory(workflow=pipeline(project_a, tmp_path / "count"), run=True)
        body = admin_api.post(self.url(execution), {"task": "nope"}, format="json").content.decode()
        assert "audit, fetch, process, report" in body

    def test_only_a_failed_execution_is_retried(self, admin_api, project_a):
        execution = ExecutionFactory(workflow=WorkflowFactory(project=project_a, tasks=[
            {"name": "a", "type": "set", "config": {"values": {"x": 1}}}]), run=True)
        assert execution.status == ExecutionStatus.SUCCEEDED
        response = admin_api.post(self.url(execution), {"task": "a"}, format="json")
        assert response.status_code == 409
        assert "only failed executions can be retried" in response.content.decode()
