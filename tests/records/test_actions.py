"""Action services: look-up, permissions, requirements, performing, and what happens when the run ends."""

from __future__ import annotations

import uuid

import pytest
from rest_framework.exceptions import NotFound, ValidationError

from accounts.models import Role
from executions.models import Execution, ExecutionStatus
from executions.services import retry_execution
from records import actions
from records import services as records
from records.models import RecordEvent
from tests.accounts.factories import key_caller
from tests.records.factories import ALL_REQUIREMENTS, HONORABLE, ActionFactory, BoardFactory
from tests.workflows.factories import WorkflowFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def board(project_a):
    return BoardFactory(project=project_a)


# -- look-up ----------------------------------------------------------------------------------------------
def test_it_finds_an_action_by_short_id_or_uuid_in_the_callers_tenant(board, tenant_a, tenant_b):
    caller = key_caller(tenant_a, Role.WORKFLOW)
    assert actions.get_action_for(caller, "edHR10") == board.approve
    assert actions.get_action_for(caller, str(board.approve.id)) == board.approve
    for bad in ("nope!", str(uuid.uuid4()), "", None):
        with pytest.raises(NotFound):
            actions.get_action_for(caller, bad)
    with pytest.raises(NotFound):
        actions.get_action_for(key_caller(tenant_b, Role.WORKFLOW), "edHR10")


# -- permissions ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("roles", "users", "role", "named", "allowed"), [
    ([], [], Role.ADMIN, False, True),
    ([], [], Role.WORKFLOW, False, True),
    ([], [], Role.APPROVER, False, False),
    ([], [], Role.VIEWER, False, False),
    (["approver"], [], Role.APPROVER, False, True),
    (["approver"], [], Role.WORKFLOW, False, False),
    ([], ["harry"], Role.WORKFLOW, False, False),
    ([], ["harry"], Role.VIEWER, True, True),
    (["viewer"], [], Role.VIEWER, False, True),
])
def test_who_may_perform_an_action(board, roles, users, role, named, allowed):
    action = actions.update_action(board.approve, allowed_roles=roles, allowed_users=users)
    assert actions.may_perform(action, role=role, user=board.harry if named else None) is allowed


# -- requirements -----------------------------------------------------------------------------------------
def test_it_lists_unmet_requirements_in_order(board):
    records.update_record(board.record, fields={"Name": None}, checklist=["Letter sent"], assignee=None)
    board.record.refresh_from_db()
    assert actions.check_requirements(board.approve, board.record) == [
        "Name is required", "Checklist must be completed", "Must be assigned", "Name must include honorable prefix"]
    assert actions.check_requirements(board.reject, board.record) == ["Name is required"]


def test_conditions_see_the_whole_record(board):
    action = actions.update_action(board.approve, requirements={"conditions": [
        {"expression": "record.stage == 'New' and record.assignee_email == 'harry@hogwarts.edu'", "message": "a"},
        {"expression": "{{ record.checklist | selectattr('done') | list | length >= 1 }}", "message": "b"},
        {"expression": "record.fields.Email.endswith('@durmstrang.edu')", "message": "Not a Durmstrang student"},
        {"expression": "record.fields.Missing > 1", "message": "Undefined values fail the condition"},
    ]})
    assert actions.check_requirements(action, board.record) == [
        "Not a Durmstrang student", "Undefined values fail the condition"]


def test_it_validates_an_actions_definition(board, project_a):
    with pytest.raises(ValidationError) as caught:
        actions.create_action(project=project_a, workflow=board.workflow, name="Bad", short_id="bad id!",
                              stages=["Limbo"], allowed_roles=["wizard"], allowed_users=["nobody"],
                              requirements={"required_fields": ["Wand"], "conditions": [{"expression": "1 +"}],
                                            "mood": True},
                              steps={"tasks": [{"name": "x", "type": "teleport"}]})
    assert set(caught.value.detail) == {
        "short_id", "stages", "allowed_roles", "allowed_users", "requirements.required_fields",
        "requirements.conditions[0]", "requirements.mood", "steps.tasks[0].type"}
    with pytest.raises(ValidationError) as caught:
        actions.create_action(project=project_a, name="Dup", short_id="edHR10")
    assert "taken" in str(caught.value.detail["short_id"][0])
    with pytest.raises(ValidationError):
        actions.create_action(project=project_a, name="Staged", stages=["New"])  # stages need a workflow


def test_steps_are_stored_normalized(project_a):
    action = actions.create_action(project=project_a, name="Ping", steps={"tasks": [
        {"name": "ping", "type": "log", "config": {"message": "hi"}}]})
    assert action.steps["tasks"][0]["retries"] == 0
    assert len(action.short_id) == 6


# -- performing -----------------------------------------------------------------------------------------------
def test_it_performs_an_action_and_notes_it_in_the_history(board, tenant_a):
    execution, created = actions.perform_action(caller=key_caller(tenant_a, Role.WORKFLOW),
                                                action=board.approve,
                                                record=board.record, performed_by=board.harry)
    assert created
    assert (execution.workflow, execution.project, execution.workflow_version) == (
        board.workflow, board.workflow.project, None)
    assert execution.get_definition() == board.approve.steps
    event = RecordEvent.objects.get(record=board.record, kind="action")
    assert (event.outcome, event.actor, event.execution, event.action) == (
        "started", "harry@hogwarts.edu", execution, board.approve)


def test_it_refuses_with_every_reason_of_one_kind(board, tenant_a, victor):
    caller = key_caller(tenant_a, Role.WORKFLOW)
    with pytest.raises(actions.ActionRefused) as caught:
        actions.perform_action(caller=key_caller(tenant_a, Role.VIEWER), action=board.approve, record=board.record)
    assert (caught.value.reason, caught.value.status_code) == ("forbidden", 403)
    with pytest.raises(actions.ActionRefused) as caught:
        actions.perform_action(caller=caller, action=board.approve, record=board.record, performed_by=victor)
    assert caught.value.reason == "forbidden"
    with pytest.raises(actions.ActionRefused) as caught:
        actions.resolve_performer(caller, "nobody@example.com")
    assert caught.value.reason == "unknown_performer"
    records.update_record(board.record, fields={"Name": None}, assignee=None)
    with pytest.raises(actions.ActionRefused) as caught:
        actions.perform_action(caller=caller, action=board.approve, record=board.record)
    assert caught.value.errors == ["Name is required", "Must be assigned", "Name must include honorable prefix"]
    assert not Execution.objects.exists()


def test_a_disabled_workflow_refuses_its_actions(board, tenant_a):
    from workflows.services import update_workflow

    update_workflow(board.workflow, enabled=False)
    with pytest.raises(actions.ActionRefused) as caught:
        actions.perform_action(caller=key_caller(tenant_a, Role.WORKFLOW), action=board.reject,
                               record=board.record)
    assert caught.value.status_code == 409


def test_success_moves_the_record_to_the_target_stage(board, tenant_a, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        execution, _ = actions.perform_action(caller=key_caller(tenant_a, Role.WORKFLOW),
                                              action=board.approve, record=board.record)
    execution.refresh_from_db()
    board.record.refresh_from_db()
    assert execution.status == ExecutionStatus.SUCCEEDED
    assert board.record.stage == board.approved
    moved = RecordEvent.objects.get(record=board.record, kind="moved")
    assert (moved.execution, moved.detail) == (execution, {"from": "New", "to": "Approved"})


def test_an_action_without_steps_just_moves_the_record(board, tenant_a, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        actions.perform_action(caller=key_caller(tenant_a, Role.WORKFLOW), action=board.reject,
                               record=board.record)
    board.record.refresh_from_db()
    assert board.record.stage == board.rejected


def test_failure_leaves_the_record_and_a_retry_that_succeeds_moves_it(tenant_a, project_a, tmp_path,
                                                                     django_capture_on_commit_callbacks):
    counter = tmp_path / "count"
    board = BoardFactory(project=project_a, approve_steps=[
        {"name": "flaky", "type": "flaky", "config": {"counter_file": str(counter), "succeed_on_attempt": 2}}])
    with django_capture_on_commit_callbacks(execute=True):
        execution, _ = actions.perform_action(caller=key_caller(tenant_a, Role.WORKFLOW),
                                              action=board.approve, record=board.record)
    execution.refresh_from_db()
    board.record.refresh_from_db()
    assert execution.status == ExecutionStatus.FAILED and board.record.stage == board.new
    assert actions.failure_messages(execution) == ["RuntimeError: flaky failure 1"]
    with django_capture_on_commit_callbacks(execute=True):
        retry_execution(execution)
    board.record.refresh_from_db()
    assert board.record.stage == board.approved
    outcomes = list(RecordEvent.objects.filter(record=board.record, kind="action").values_list("outcome", flat=True))
    assert outcomes == ["started", "failed", "succeeded"]


def test_a_project_action_runs_without_a_record(project_a, tenant_a, django_capture_on_commit_callbacks):
    action = ActionFactory(project=project_a, name="Nightly", steps={"tasks": [
        {"name": "hello", "type": "set", "config": {"values": {"who": "{{ record }}"}}}]})
    with django_capture_on_commit_callbacks(execute=True):
        execution, _ = actions.perform_action(caller=key_caller(tenant_a, Role.WORKFLOW), action=action)
    execution.refresh_from_db()
    assert (execution.status, execution.workflow, execution.action_link.record) == (ExecutionStatus.SUCCEEDED, None, None)


def test_an_action_of_another_workflow_is_not_offered(board, project_a, tenant_a):
    other = WorkflowFactory(project=project_a, alias="elsewhere")
    stray = ActionFactory(workflow=other, name="Stray")
    assert not actions.is_offered(stray, board.record)
    with pytest.raises(actions.ActionRefused) as caught:
        actions.perform_action(caller=key_caller(tenant_a, Role.WORKFLOW), action=stray, record=board.record)
    assert caught.value.reason == "not_offered"


def test_changing_the_workflow_drops_the_old_stages(board, project_a):
    other = WorkflowFactory(project=project_a, alias="elsewhere")
    actions.update_action(board.approve, workflow=other, requirements={})
    board.approve.refresh_from_db()
    assert (board.approve.workflow, list(board.approve.stages.all()), board.approve.target_stage) == (other, [], None)


def test_requirement_helpers_accept_all_kinds_together(board):
    assert actions._problems_of_requirements(ALL_REQUIREMENTS, ["Name"]) == {}
    assert actions._problems_of_requirements({"conditions": [HONORABLE]}, None) == {}


def test_it_refuses_an_attribute_actions_do_not_have(board, project_a):
    with pytest.raises(TypeError, match="Not attributes of an action: colour"):
        actions.create_action(project=project_a, name="Paint", colour="red")
    assert not actions.Action.objects.filter(name="Paint").exists()
