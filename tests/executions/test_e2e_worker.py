"""End to end through a real Celery worker process on Redis and PostgreSQL."""

import time
from datetime import timedelta
from unittest import mock

import pytest
import time_machine

from executions.models import Execution, ExecutionStatus, TaskRun, TaskRunStatus
from executions.services import sweep
from tests.conftest import key_client, wait_until
from tests.executions.factories import ExecutionFactory
from tests.workflows.factories import WorkflowFactory

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]


def finished(execution_id, timeout=60):
    def check():
        execution = Execution.objects.get(pk=execution_id)
        return execution if execution.is_terminal else None

    return wait_until(check, timeout=timeout, interval=0.1)


def test_a_multi_task_workflow_completes_with_task_runs_outputs_and_logs(live_worker, project_a):
    wf = WorkflowFactory(project=project_a, tasks=[
        {"name": "greet", "type": "set", "config": {"values": {"text": "hi {{ input.who }}"}}},
        {"name": "echo", "type": "echo", "config": {"said": "{{ tasks.greet.output.text }}"}, "depends_on": ["greet"]},
        {"name": "note", "type": "log", "config": {"message": "echoed {{ tasks.echo.output.config.said }}"}, "depends_on": ["echo"]},
        {"name": "answer", "type": "response", "config": {"value": "{{ tasks.echo.output.config.said }}"}, "depends_on": ["note"]},
    ])
    execution = ExecutionFactory(workflow=wf, input={"who": "worker"})
    execution = finished(execution.id)
    assert (execution.status, execution.return_value) == ("succeeded", "hi worker")
    runs = {tr.name: tr for tr in execution.task_runs.all()}
    assert all(tr.status == TaskRunStatus.SUCCEEDED and tr.attempts == 1 for tr in runs.values())
    assert runs["echo"].output == {"config": {"said": "hi worker"}, "input": {"who": "worker"}}
    assert execution.logs.filter(message="echoed hi worker", task_run=runs["note"]).exists()


def test_parallel_branches_overlap_in_time(live_worker, project_a):
    wf = WorkflowFactory(project=project_a, tasks=[
        {"name": "left", "type": "sleep", "config": {"seconds": 2}},
        {"name": "right", "type": "sleep", "config": {"seconds": 2}},
        {"name": "join", "type": "response", "config": {"value": "both"}, "depends_on": ["left", "right"]},
    ])
    execution = ExecutionFactory(workflow=wf)
    execution = finished(execution.id)
    assert execution.status == ExecutionStatus.SUCCEEDED
    left, right = (execution.task_runs.get(name=n).output for n in ("left", "right"))
    # Each branch started before the other one ended: they ran at the same time.
    assert left["started"] < right["ended"] and right["started"] < left["ended"]


def test_retries_count_attempts(live_worker, project_a, tmp_path):
    wf = WorkflowFactory(project=project_a, tasks=[
        {"name": "shaky", "type": "flaky", "retries": 4,
         "retry_backoff": {"type": "exponential", "delay": 0.2, "max": 1},
         "config": {"counter_file": str(tmp_path / "n"), "succeed_on_attempt": 3}}])
    execution = ExecutionFactory(workflow=wf)
    execution = finished(execution.id)
    run = execution.task_runs.get()
    assert (execution.status, run.attempts, run.output) == ("succeeded", 3, {"attempts_seen": 3})
    assert execution.logs.filter(level="warning", message__contains="attempt 1 failed").exists()
    assert execution.logs.filter(level="warning", message__contains="attempt 2 failed").exists()


def test_a_timeout_fails_the_task(live_worker, project_a):
    wf = WorkflowFactory(project=project_a, tasks=[
        {"name": "slow", "type": "sleep", "timeout_seconds": 1, "config": {"seconds": 20}}])
    execution = ExecutionFactory(workflow=wf)
    execution = finished(execution.id, timeout=40)
    run = execution.task_runs.get()
    assert (execution.status, run.status) == ("failed", "failed")
    assert run.message == "Task slow timed out after 1 s."


def test_cancel_mid_run_stops_after_the_task_in_hand(live_worker, project_a, tenant_a):
    wf = WorkflowFactory(project=project_a, tasks=[
        {"name": "long", "type": "sleep", "config": {"seconds": 2}},
        {"name": "next", "type": "log", "config": {"message": "must not run"}, "depends_on": ["long"]},
    ])
    execution = ExecutionFactory(workflow=wf)
    wait_until(lambda: TaskRun.objects.filter(execution=execution, name="long", status="running").exists())
    response = key_client(tenant_a, "workflow").post(f"/api/v1/executions/{execution.id}/cancel/")
    assert response.status_code == 200 and response.json()["cancel_requested"] is True
    execution = finished(execution.id)
    assert execution.status == ExecutionStatus.CANCELLED
    assert dict(execution.task_runs.values_list("name", "status")) == {"long": "succeeded", "next": "cancelled"}
    assert not execution.logs.filter(message="must not run").exists()


def test_a_synchronous_run_returns_the_response_tasks_value(live_worker, project_a, tenant_a):
    WorkflowFactory(project=project_a, tasks=[
        {"name": "work", "type": "sleep", "config": {"seconds": 0.5}},
        {"name": "answer", "type": "response", "config": {"value": {"n": "{{ input.n * 2 }}"}}, "depends_on": ["work"]},
    ], alias="sync-me")
    client = key_client(tenant_a, "workflow")
    response = client.post("/api/v1/executions/?wait=30", {"workflow": "sync-me", "input": {"n": 21}}, format="json")
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["return_value"]) == ("succeeded", {"n": 42})


def test_a_worker_killed_mid_execution_is_recovered_by_a_new_worker(start_worker, project_a):
    lease = {"FLOWGATE_TASK_LEASE_SECONDS": 3}
    doomed = start_worker(concurrency=1, **lease)
    wf = WorkflowFactory(project=project_a, tasks=[
        # Long enough that the kill below always lands while the task is still sleeping.
        {"name": "long", "type": "sleep", "config": {"seconds": 8}},
        {"name": "after", "type": "response", "config": {"value": "recovered"}, "depends_on": ["long"]},
    ])
    execution = ExecutionFactory(workflow=wf)
    wait_until(lambda: TaskRun.objects.filter(execution=execution, name="long", status="running").exists())
    doomed.kill()  # SIGKILL to the whole worker: no chance to clean up
    assert TaskRun.objects.get(execution=execution, name="long").status == TaskRunStatus.RUNNING
    start_worker(concurrency=1, **lease)

    def recovered():
        sweep()  # what celery beat runs every few seconds
        execution.refresh_from_db()
        return execution.is_terminal

    wait_until(recovered, timeout=60, interval=0.5)
    assert (execution.status, execution.return_value) == ("succeeded", "recovered")
    assert not TaskRun.objects.filter(execution=execution, status=TaskRunStatus.RUNNING).exists()
    assert TaskRun.objects.get(execution=execution, name="long").attempts == 2
    assert execution.logs.filter(message__contains="lost its worker").exists()


def test_a_message_dropped_before_the_broker_is_resent_by_the_sweeper(live_worker, project_a):
    wf = WorkflowFactory(project=project_a, tasks=[
        {"name": "only", "type": "response", "config": {"value": "delivered"}}])
    with mock.patch("executions.tasks.advance_message.apply_async") as dropped:
        execution = ExecutionFactory(workflow=wf)
    assert dropped.call_count == 1
    time.sleep(1)  # give a (non-existent) message time to arrive: nothing happens
    assert Execution.objects.get(pk=execution.pk).status == ExecutionStatus.QUEUED
    with time_machine.travel(timedelta(minutes=5)):
        assert sweep()["requeued"] == 1
    execution = finished(execution.id)
    assert (execution.status, execution.return_value) == ("succeeded", "delivered")


def test_a_chain_runs_on_one_worker_without_a_message_per_task(start_worker, project_a):
    worker = start_worker(concurrency=1)
    wf = WorkflowFactory(project=project_a, tasks=[
        {"name": "one", "type": "set", "config": {"values": {"n": 1}}},
        {"name": "two", "type": "set", "config": {"values": {"n": "{{ tasks.one.output.n + 1 }}"}}, "depends_on": ["one"]},
        {"name": "three", "type": "response", "config": {"value": "{{ tasks.two.output.n + 1 }}"}, "depends_on": ["two"]},
    ])
    execution = ExecutionFactory(workflow=wf)
    execution = finished(execution.id)
    assert (execution.status, execution.return_value) == ("succeeded", 3)
    received = worker.log_path.read_text()
    # One advance message started the execution; the worker went on from task to task by itself.
    assert received.count("flowgate.advance_execution[") >= 1 and "flowgate.run_task[" not in received


def test_a_task_claimed_inline_is_recovered_when_its_worker_dies(start_worker, project_a):
    lease = {"FLOWGATE_TASK_LEASE_SECONDS": 3}
    doomed = start_worker(concurrency=1, **lease)
    wf = WorkflowFactory(project=project_a, tasks=[
        {"name": "quick", "type": "set", "config": {"values": {"ok": True}}},
        # Claimed by the worker that finished "quick", in the same transaction; killed mid-sleep.
        {"name": "long", "type": "sleep", "config": {"seconds": 8}, "depends_on": ["quick"]},
        {"name": "after", "type": "response", "config": {"value": "{{ tasks.long.output.ended > 0 }}"},
         "depends_on": ["long"]},
    ])
    execution = ExecutionFactory(workflow=wf)
    wait_until(lambda: TaskRun.objects.filter(execution=execution, name="long", status="running").exists())
    assert "flowgate.run_task[" not in doomed.log_path.read_text()  # "long" came inline, not by message
    killed_at = time.time()
    doomed.kill()
    start_worker(concurrency=1, **lease)

    def recovered():
        sweep()  # what celery beat runs every few seconds
        execution.refresh_from_db()
        return execution.is_terminal

    wait_until(recovered, timeout=60, interval=0.5)
    runs = {tr.name: tr for tr in execution.task_runs.all()}
    assert (execution.status, execution.return_value) == ("succeeded", True)
    assert (runs["quick"].attempts, runs["long"].attempts, runs["after"].attempts) == (1, 2, 1)
    # The output is the second attempt's, written once: the killed attempt wrote nothing.
    assert runs["long"].output["started"] > killed_at
    assert execution.logs.filter(message__contains="Task long lost its worker during attempt 1").count() == 1
    assert execution.logs.filter(message="Task long succeeded.").count() == 1


def test_a_failed_step_is_a_failed_celery_task_naming_its_execution(start_worker, project_a):
    worker = start_worker(concurrency=1)
    wf = WorkflowFactory(project=project_a, tasks=[{"name": "boom", "type": "fail", "config": {"message": "no luck"}}])
    execution = ExecutionFactory(workflow=wf)
    assert finished(execution.id).status == "failed"
    # What Flower shows: the message that ran the task failed, with the task and its execution.
    wait_until(lambda: "StepFailed" in worker.log_path.read_text(), timeout=10)
    log = worker.log_path.read_text()
    assert f"task boom of execution {execution.id}: no luck" in log
    assert "Traceback" not in log  # an expected failure, logged without one
