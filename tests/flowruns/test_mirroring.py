"""An execution started with a flow run keeps that run's phase, actions, logs and outputs in step."""

from __future__ import annotations

import logging

import pytest
from rest_framework.exceptions import ValidationError

from accounts.models import Role
from executions.models import Execution, ExecutionStatus, TaskRunStatus
from executions.status_words import status_word
from flowruns import services
from flowruns.models import FlowRun
from tests.accounts.factories import key_caller
from tests.executions.factories import ExecutionFactory
from tests.workflows.factories import WorkflowFactory

pytestmark = pytest.mark.django_db

PIPELINE = {"tasks": [
    {"name": "greet", "type": "log", "config": {"message": "Hello {{ input.who }}", "level": "warning"}},
    {"name": "compute", "type": "set", "config": {"values": {"n": 42}}, "depends_on": ["greet"]},
    {"name": "answer", "type": "response", "config": {"value": {"answer": "{{ tasks.compute.output.n }}"}},
     "depends_on": ["compute"]},
]}
BROKEN = {"tasks": [
    {"name": "boom", "type": "fail", "config": {"message": "no disk"}},
    {"name": "after", "type": "log", "config": {"message": "never"}, "depends_on": ["boom"]},
]}


@pytest.fixture
def caller(tenant_a, project_a, alice):
    """A key alice created: runs it writes show alice's id."""
    return key_caller(tenant_a, Role.WORKFLOW, name="deployer", created_by=alice)


def run_to_the_end(caller, definition, run_id="deploy-42", name="Deploy Service") -> tuple[Execution, FlowRun]:
    workflow = WorkflowFactory(project=caller.tenant.projects.get(), name=name, definition=definition)
    execution = ExecutionFactory(caller=caller, workflow=workflow, input={"who": "Ada"}, run=True, options={
        "flow_run": {"run_id": run_id, "flow_id": workflow.name, "args": {"who": "Ada"}}})
    return execution, FlowRun.objects.get(run_id=run_id)


def test_it_mirrors_a_finished_execution(caller):
    execution, run = run_to_the_end(caller, PIPELINE)

    assert execution.status == "succeeded"
    assert run.phase == "success"
    assert run.flow_type == "automation" and run.flow_id == "deploy-service" and run.args == {"who": "Ada"}
    assert run.start_time == execution.started_at and run.end_time == execution.ended_at
    assert run.outputs == execution.return_value == {"answer": 42}
    assert [(a["id"], a["phase"]) for a in run.actions] == [("greet", "success"), ("compute", "success"),
                                                           ("answer", "success")]
    assert all(a["startTime"] and a["endTime"] for a in run.actions)
    assert {"timestamp": run.logs[0]["timestamp"], "message": run.logs[0]["message"], "level": "info",
            "action": None} == run.logs[0]  # "Execution queued ...": not a task's line
    assert {"message": "Hello Ada", "level": "warning", "action": "greet"} in [
        {k: line[k] for k in ("message", "level", "action")} for line in run.logs]
    assert len(run.logs) == execution.logs.count()


def test_it_shows_the_mirror_through_the_port_api(caller, admin_api):
    execution, _ = run_to_the_end(caller, PIPELINE)

    body = admin_api.get("/api/v1/flow-runs/deploy-42").json()

    assert body["phase"] == "success" and body["createdBy"] == caller.api_key.created_by_id
    assert [a["id"] for a in body["actions"]] == [tr.name for tr in execution.task_runs.all()]
    assert body["outputs"] == {"answer": 42}
    assert admin_api.get("/api/v1/flow-runs", {"phase": "success"}).json()["total"] == 1


def test_it_mirrors_a_failure(caller):
    execution, run = run_to_the_end(caller, BROKEN)

    assert execution.status == "failed"
    assert run.phase == "failure"
    assert {a["id"]: a["phase"] for a in run.actions} == {"boom": "failure", "after": "skipped"}
    assert any(line["level"] == "error" and line["action"] == "boom" for line in run.logs)


def test_it_keeps_only_the_newest_log_lines(caller, monkeypatch):
    monkeypatch.setattr(services, "MAX_LOGS", 3)

    execution, run = run_to_the_end(caller, PIPELINE)

    newest = list(execution.logs.order_by("-timestamp", "-id").values_list("message", flat=True)[:3])
    assert [line["message"] for line in run.logs] == newest[::-1]


def test_it_mirrors_in_a_fixed_number_of_queries(caller, django_assert_num_queries):
    execution, _ = run_to_the_end(caller, PIPELINE)

    # 1. the execution's flow run  2. lock it  3. the execution  4. its task runs  5. its newest logs
    # (with task names)  6. write the flow run  (+ the savepoint pair around them in a test)
    services.forget_reported()
    with django_assert_num_queries(8):
        assert services.sync_from_execution(execution.pk)
    # The process remembers which run an execution reports to: 1. is not asked again.
    with django_assert_num_queries(7):
        assert services.sync_from_execution(execution.pk)


def test_it_mirrors_who_reviewed(caller, tenant_a, alice, django_capture_on_commit_callbacks):
    from accounts.authentication import caller_for_user
    from approvals.models import Approval
    from approvals.services import decide_approval

    definition = {"tasks": [{"name": "sign-off", "type": "approval", "config": {"approvers": {"roles": ["admin"]}}}]}
    execution, run = run_to_the_end(caller, definition)
    assert run.phase == "waiting" and run.actions[0]["phase"] == "waiting" and run.reviewed_by is None

    with django_capture_on_commit_callbacks(execute=True):
        decide_approval(Approval.objects.get(execution=execution), caller_for_user(alice, _Request()), "approve")
    run.refresh_from_db()

    assert run.phase == "success"
    assert services.actor_value(run.reviewed_by) == alice.pk
    assert run.reviewed_at == Approval.objects.get(execution=execution).decided_at


class _Request:
    META: dict = {}


def test_it_leaves_an_execution_without_a_flow_run_alone(caller):
    workflow = WorkflowFactory(project=caller.tenant.projects.get(), name="Plain", definition=PIPELINE)
    execution = ExecutionFactory(caller=caller, workflow=workflow, input={"who": "x"}, run=True)

    assert not services.sync_from_execution(execution.pk)
    assert not FlowRun.objects.exists()


def test_it_never_lets_a_mirror_failure_escape(caller, monkeypatch, caplog, django_capture_on_commit_callbacks):
    execution = Execution()

    def broken(execution_id):
        raise RuntimeError("database gone")

    monkeypatch.setattr(services, "reported_flow_run", lambda execution_id: 1)  # it reports to a run
    monkeypatch.setattr(services, "sync_from_execution", broken)
    with caplog.at_level(logging.ERROR, logger="flowgate.flowruns"):
        with django_capture_on_commit_callbacks(execute=True):
            services.mirror_execution(execution=execution)

    assert "could not mirror execution" in caplog.text


# -- flow_run_for_execution ------------------------------------------------------------------------------------
def test_it_creates_a_queued_automation_run_once(caller):
    first = services.flow_run_for_execution(caller, "nightly.7", flow_id="Nightly Report!", args={"a": 1})
    again = services.flow_run_for_execution(caller, "nightly.7", flow_id="something else")

    assert again.pk == first.pk
    assert (first.flow_type, first.phase, first.flow_id, first.args) == ("automation", "queued", "nightly-report",
                                                                          {"a": 1})
    assert services.actor_value(first.created_by) == caller.api_key.created_by_id


def test_it_keeps_flow_run_ids_per_tenant(caller, tenant_b):
    mine = services.flow_run_for_execution(caller, "same", flow_id="f")
    theirs = services.flow_run_for_execution(key_caller(tenant_b), "same", flow_id="f")

    assert mine.pk != theirs.pk and theirs.tenant_id == tenant_b.id


@pytest.mark.parametrize("bad", ["Upper", "with space", "", None, "x" * 201])
def test_it_refuses_a_bad_flow_run_id(caller, bad):
    with pytest.raises(ValidationError) as raised:
        services.flow_run_for_execution(caller, bad, flow_id="f")

    assert "flow_run" in raised.value.detail


def test_it_has_a_phase_for_every_status():
    # The Port column of the one status table names only phases that flow runs accept.
    phases = {status_word("port", s) for s in {*ExecutionStatus.values, *TaskRunStatus.values}}
    assert phases <= set(services.Phase.ALL)
    assert status_word("port", "succeeded") == "success" and status_word("port", "failed") == "failure"
