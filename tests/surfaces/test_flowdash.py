"""Flowdash's Actions API: every request and response of its document, at its paths and in its shapes.

The fixture is the document's example: workflow ``abc123``, task 678, actions ``edHR10`` (Approve)
and ``PvHaOO`` (Reject), and harry@hogwarts.edu performing them.
"""

from __future__ import annotations

import pytest
from drf_spectacular.drainage import GENERATOR_STATS

from accounts.models import Role
from executions.models import Execution, ExecutionStatus
from executions.services import cancel_execution
from executions.status_words import status_word
from records import actions as action_services
from records import services as record_services
from records.api import urls as records_urls
from records.models import ActionExecution, Record, RecordEvent
from tests.conftest import key_client, wait_until
from tests.records.factories import ALL_REQUIREMENTS, HONORABLE, ActionFactory, BoardFactory
from tests.support.clients import APIClient
from tests.support.openapi import generate_document
from tests.workflows.factories import WorkflowFactory

pytestmark = pytest.mark.django_db

DOCUMENTED_BODY = {"task_id": "678", "action_id": "edHR10", "performed_by": "harry@hogwarts.edu"}
# The document's curl example, byte for byte: note the trailing comma, which makes it invalid JSON.
DOCUMENTED_RAW_BODY = """{
          "task_id":"678",
          "action_id":"edHR10",
          "performed_by":"harry@hogwarts.edu",
    }"""
EXECUTIONS = "/api/v1/workflows/abc123/executions"


@pytest.fixture
def board(project_a):
    return BoardFactory(project=project_a)


def execute(client, body=None, **extra):
    return client.post(EXECUTIONS, body if body is not None else DOCUMENTED_BODY, format="json", **extra)


# -- GET List a Task's Available Actions -------------------------------------------------------------------
def test_it_lists_a_tasks_available_actions_as_documented(board, workflow_api, django_assert_max_num_queries):
    # Queries: the API key, its last-used stamp, the workflow by alias, the task, its actions.
    with django_assert_max_num_queries(5):
        response = workflow_api.get("/api/v1/workflows/abc123/tasks/678/actions")
    assert response.status_code == 200
    assert response.json() == [{"id": "edHR10", "name": "Approve"}, {"id": "PvHaOO", "name": "Reject"}]


def test_it_offers_only_enabled_actions_of_the_tasks_stage(board, workflow_api):
    ActionFactory(workflow=board.workflow, name="Reopen", short_id="Reopen1", stages=["Approved", "Rejected"],
                  target_stage="New")
    ActionFactory(workflow=board.workflow, name="Archive", short_id="Arch01", stages=["New"], enabled=False)
    everywhere = ActionFactory(workflow=board.workflow, name="Comment", short_id="Cmnt01")
    record_services.update_record(board.record, stage="Approved")
    response = workflow_api.get(f"/api/v1/workflows/{board.workflow.id}/tasks/678/actions")
    assert response.json() == [{"id": "Reopen1", "name": "Reopen"}, {"id": everywhere.short_id, "name": "Comment"}]


def test_it_lists_actions_even_when_their_requirements_are_unmet(tenant_a, project_a, workflow_api):
    BoardFactory(project=project_a, record_fields={})
    response = workflow_api.get("/api/v1/workflows/abc123/tasks/678/actions")
    assert [a["id"] for a in response.json()] == ["edHR10", "PvHaOO"]


def test_it_answers_404_in_flowdash_shape_for_an_unknown_task_or_workflow(board, workflow_api):
    for path in ("/api/v1/workflows/abc123/tasks/679/actions", "/api/v1/workflows/nope/tasks/678/actions",
                 "/api/v1/workflows/abc123/tasks/abc/actions"):
        response = workflow_api.get(path)
        assert response.status_code == 404, path
        assert response.json()["status"] == "Fail"
        assert len(response.json()["errors"]) == 1


def test_it_hides_another_tenants_task(board, outsider_api):
    response = outsider_api.get(f"/api/v1/workflows/{board.workflow.id}/tasks/678/actions")
    assert response.status_code == 404
    assert response.json() == {"status": "Fail", "errors": ["Workflow not found."]}


# -- POST Create an Action Execution --------------------------------------------------------------------------
def test_it_executes_an_action_asynchronously_as_documented(board, workflow_api):
    response = execute(workflow_api)
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"id", "status"} and body["status"] == "Pending"
    execution = Execution.objects.get(pk=body["id"])
    link = execution.action_link
    assert (link.action, link.record, execution.workflow) == (board.approve, board.record, board.workflow)
    assert execution.performed_by == board.harry
    assert execution.status == ExecutionStatus.QUEUED
    # Nothing has run yet (asynchronous): the task is still in its stage.
    board.record.refresh_from_db()
    assert board.record.stage == board.new


def test_it_answers_the_documents_trailing_comma_body_with_a_clear_400(board, workflow_api):
    response = workflow_api.post(EXECUTIONS, DOCUMENTED_RAW_BODY, content_type="application/json")
    assert response.status_code == 400
    body = response.json()
    assert body["status"] == "Fail"
    assert "not valid JSON" in body["errors"][0] and "trailing comma" in body["errors"][0]
    assert not Execution.objects.exists()


def test_it_answers_other_malformed_bodies_in_flowdash_shape(board, workflow_api):
    for raw in ("[1, 2]", '"text"', "{"):
        response = workflow_api.post(EXECUTIONS, raw, content_type="application/json")
        assert response.status_code == 400, raw
        assert response.json()["status"] == "Fail"
    response = execute(workflow_api, {"task_id": "678"})
    assert response.status_code == 400
    assert response.json()["errors"] == ["Send both task_id and action_id to execute an action on a task, or "
                                         "neither (with input) to start the workflow."]
    response = execute(workflow_api, {"task_id": "six", "action_id": "edHR10"})
    assert response.status_code == 400
    assert not Execution.objects.exists()


def test_it_accepts_a_numeric_task_id_and_no_performer(board, workflow_api):
    response = execute(workflow_api, {"task_id": 678, "action_id": "edHR10"})
    assert response.status_code == 201
    assert Execution.objects.get().performed_by is None


def test_it_lists_all_four_unmet_requirements_as_documented(tenant_a, project_a, workflow_api):
    board = BoardFactory(project=project_a, record_fields={"Name": ""})
    record_services.update_record(board.record, checklist=[{"name": "Letter sent", "done": False}], assignee=None)
    response = execute(workflow_api)
    assert response.status_code == 422
    assert response.json() == {"status": "Fail", "errors": [
        "Name is required", "Checklist must be completed", "Must be assigned", "Name must include honorable prefix",
    ]}
    assert not Execution.objects.exists()


@pytest.mark.parametrize(("requirements", "change", "message"), [
    ({"required_fields": ["Email"]}, {"fields": {"Email": None}}, "Email is required"),
    ({}, {"fields": {"Name": None}}, "Name is required"),  # Name is a required field of the workflow
    ({"checklist_complete": True}, {"checklist": ["Letter sent"]}, "Checklist must be completed"),
    ({"must_be_assigned": True}, {"assignee": None}, "Must be assigned"),
    ({"conditions": [HONORABLE]}, {"fields": {"Name": "Harry Potter"}}, "Name must include honorable prefix"),
])
def test_it_enforces_each_requirement_alone(tenant_a, project_a, workflow_api, requirements, change, message):
    board = BoardFactory(project=project_a, requirements=requirements)
    assert execute(workflow_api).status_code == 201  # met: it runs
    record_services.update_record(board.record, **change)
    response = execute(workflow_api)
    assert response.status_code == 422
    assert response.json() == {"status": "Fail", "errors": [message]}


def test_it_does_not_ask_for_user_confirmation_over_the_api(tenant_a, project_a, workflow_api):
    BoardFactory(project=project_a, requirements={**ALL_REQUIREMENTS, "user_confirmation": True})
    assert execute(workflow_api).status_code == 201


def test_it_refuses_an_action_not_offered_in_the_tasks_stage(board, workflow_api):
    record_services.update_record(board.record, stage="Approved")
    response = execute(workflow_api)
    assert response.status_code == 422
    assert response.json() == {"status": "Fail", "errors": [
        "Action 'Approve' is not available for task 678 in its stage (Approved)."]}


def test_it_refuses_a_disabled_action(board, workflow_api):
    action_services.update_action(board.approve, enabled=False)
    response = execute(workflow_api)
    assert response.status_code == 422
    assert response.json() == {"status": "Fail", "errors": ["Action 'Approve' is disabled."]}


def test_it_refuses_a_performer_without_permission(board, victor, workflow_api):
    # Victor is a viewer; Approve names no roles or users, so it is for the workflow role and admins.
    response = execute(workflow_api, {**DOCUMENTED_BODY, "performed_by": "victor@example.com"})
    assert response.status_code == 403
    assert response.json() == {"status": "Fail", "errors": [
        "victor@example.com may not perform 'Approve'; ask an admin to allow their role or add them to the "
        "action's users."]}
    assert not Execution.objects.exists()


def test_it_lets_the_users_an_action_names_perform_it(board, victor, walter, workflow_api):
    action_services.update_action(board.approve, allowed_users=["victor"])
    assert execute(workflow_api, {**DOCUMENTED_BODY, "performed_by": "victor@example.com"}).status_code == 201
    # Naming users without roles makes the action theirs (admins aside): harry is not named.
    response = execute(workflow_api, {**DOCUMENTED_BODY, "performed_by": "harry@hogwarts.edu"})
    assert response.status_code == 403


def test_it_refuses_an_unknown_performer(board, oscar, workflow_api):
    for email in ("nobody@hogwarts.edu", "oscar@example.com"):  # oscar is in another tenant
        response = execute(workflow_api, {**DOCUMENTED_BODY, "performed_by": email})
        assert response.status_code == 422
        assert response.json() == {"status": "Fail", "errors": [
            f"No user with the email {email} in this account; performed_by must be the email of a member."]}
    assert not Execution.objects.exists()


def test_it_refuses_a_viewer_key_in_flowdash_shape(board, viewer_api):
    response = execute(viewer_api)
    assert response.status_code == 403
    assert response.json() == {"status": "Fail", "errors": [
        "Your role (viewer) may not perform 'Approve'; it needs one of: admin, workflow."]}
    assert not Execution.objects.exists()


def test_it_lets_a_role_the_action_allows_start_it(board, tenant_a, approver_api):
    action_services.update_action(board.approve, allowed_roles=["approver", "workflow"])
    response = execute(approver_api)
    assert response.status_code == 201


def test_it_answers_401_in_flowdash_shape_without_credentials(board):
    response = APIClient().post(EXECUTIONS, DOCUMENTED_BODY, format="json")
    assert response.status_code == 401
    assert response.json() == {"status": "Fail", "errors": ["Authentication credentials were not provided."]}
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    bad = APIClient()
    bad.credentials(HTTP_AUTHORIZATION="Bearer fg_00000000_nope")
    assert bad.get("/api/v1/workflows/abc123/tasks/678/actions").json()["status"] == "Fail"


def test_it_accepts_the_other_credentials(board, tenant_a, user_api):
    client = key_client(tenant_a, Role.WORKFLOW, header="x-api-key")
    assert client.get("/api/v1/workflows/abc123/tasks/678/actions").status_code == 200
    # A person calling with Basic auth performs the action themselves.
    response = user_api(board.harry).post(EXECUTIONS, {"task_id": "678", "action_id": "edHR10"}, format="json")
    assert response.status_code == 201
    assert Execution.objects.get().performed_by == board.harry


def test_it_replays_a_repeated_request_with_the_same_idempotency_key(board, workflow_api):
    first = execute(workflow_api, HTTP_IDEMPOTENCY_KEY="approve-678")
    again = execute(workflow_api, HTTP_IDEMPOTENCY_KEY="approve-678")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert Execution.objects.count() == 1
    other = execute(workflow_api, {**DOCUMENTED_BODY, "action_id": "PvHaOO"}, HTTP_IDEMPOTENCY_KEY="approve-678")
    assert other.status_code == 422
    assert other.json()["status"] == "Fail" and "different request" in other.json()["errors"][0]


def test_it_starts_the_workflow_itself_without_task_and_action(board, workflow_api, viewer_api):
    response = execute(workflow_api, {"input": {"applicant": "Hermione"}})
    assert response.status_code == 201
    assert response.json()["status"] == "Pending"
    execution = Execution.objects.get(pk=response.json()["id"])
    assert (execution.workflow, execution.input) == (board.workflow, {"applicant": "Hermione"})
    assert not ActionExecution.objects.filter(execution=execution).exists()
    response = execute(viewer_api, {"input": {}})
    assert response.status_code == 403 and response.json()["status"] == "Fail"


# -- GET Action Execution Status ---------------------------------------------------------------------------
def test_it_reports_pending_then_success_and_moves_the_task(board, workflow_api, django_capture_on_commit_callbacks):
    execution_id = execute(workflow_api).json()["id"]
    response = workflow_api.get(f"{EXECUTIONS}/{execution_id}")
    assert response.json() == {"id": execution_id, "status": "Pending"}
    execution = Execution.objects.get(pk=execution_id)
    with django_capture_on_commit_callbacks(execute=True):
        from executions.engine import advance

        advance(execution.id)
    response = workflow_api.get(f"{EXECUTIONS}/{execution_id}")
    assert response.status_code == 200
    assert response.json() == {"id": execution_id, "status": "Success"}
    board.record.refresh_from_db()
    assert board.record.stage == board.approved
    history = list(RecordEvent.objects.filter(record=board.record, execution_id=execution_id)
                   .values_list("kind", "outcome"))
    assert history == [("action", "started"), ("action", "succeeded"), ("moved", "")]


def test_it_reports_the_failing_steps_own_message(tenant_a, project_a, workflow_api,
                                                  django_capture_on_commit_callbacks):
    board = BoardFactory(project=project_a, approve_steps=[
        {"name": "set_email", "type": "update_record", "config": {"fields": {"Email": "foo"}}},
        {"name": "after", "type": "log", "config": {"message": "never"}, "depends_on": ["set_email"]},
    ])
    with django_capture_on_commit_callbacks(execute=True):
        execution_id = execute(workflow_api).json()["id"]
    response = workflow_api.get(f"/api/v1/workflows/abc123/executions/{execution_id}")
    assert response.json() == {"id": execution_id, "status": "Fail", "errors": ["foo is not a valid email"]}
    board.record.refresh_from_db()
    assert board.record.stage == board.new
    assert board.record.fields["Email"] == "harry@hogwarts.edu"
    failed = RecordEvent.objects.get(record=board.record, outcome="failed")
    assert failed.detail["errors"] == ["foo is not a valid email"]


def test_it_reports_a_cancelled_execution_as_fail(board, workflow_api):
    execution_id = execute(workflow_api).json()["id"]
    cancel_execution(Execution.objects.get(pk=execution_id))
    response = workflow_api.get(f"{EXECUTIONS}/{execution_id}")
    assert response.json() == {"id": execution_id, "status": "Fail", "errors": ["The execution was cancelled."]}


def test_it_hides_executions_of_other_workflows_and_tenants(board, project_a, workflow_api, outsider_api):
    execution_id = execute(workflow_api).json()["id"]
    other = WorkflowFactory(project=project_a, alias="other")
    for client, path in ((workflow_api, f"/api/v1/workflows/{other.id}/executions/{execution_id}"),
                         (workflow_api, f"{EXECUTIONS}/not-a-uuid"),
                         (outsider_api, f"/api/v1/workflows/{board.workflow.id}/executions/{execution_id}")):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.json()["status"] == "Fail"


def test_it_answers_with_or_without_a_trailing_slash(board, workflow_api):
    assert workflow_api.get("/api/v1/workflows/abc123/tasks/678/actions/").status_code == 200
    execution_id = execute(workflow_api).json()["id"]
    assert workflow_api.get(f"{EXECUTIONS}/{execution_id}/").status_code == 200


def test_it_maps_internal_statuses_to_flowdash_words():
    words = {s: status_word("flowdash", s) for s in ("queued", "running", "waiting", "succeeded", "failed",
                                                     "cancelled")}
    assert words == {"queued": "Pending", "running": "Pending", "waiting": "Pending", "succeeded": "Success",
                     "failed": "Fail", "cancelled": "Fail"}


# -- OpenAPI ----------------------------------------------------------------------------------------------
def test_it_documents_the_flowdash_endpoints_without_warnings():
    schema, warnings = generate_document(records_urls.urlpatterns)
    assert warnings == {}
    paths = schema["paths"]
    assert set(paths["/api/v1/workflows/{workflow_id}/tasks/{unique_id}/actions"]) == {"get"}
    assert set(paths["/api/v1/workflows/{workflow_id}/executions"]) == {"post"}
    assert set(paths["/api/v1/workflows/{workflow_id}/executions/{execution_id}"]) == {"get"}


def test_it_serves_these_paths_in_the_api_schema_without_warnings_about_them(client):
    GENERATOR_STATS.reset()
    response = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    warnings = [*GENERATOR_STATS._warn_cache, *GENERATOR_STATS._error_cache]
    GENERATOR_STATS.reset()
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in ("/api/v1/workflows/{workflow_id}/tasks/{unique_id}/actions",
                 "/api/v1/workflows/{workflow_id}/executions",
                 "/api/v1/workflows/{workflow_id}/executions/{execution_id}",
                 "/api/v1/workflows/{workflow_id}/tasks/", "/api/v1/actions/{action_id}",
                 "/api/{tenantId}/{projectId}/action/execute/{actionId}"):
        assert path in paths
    # A warning about a view names the view's source file (test_it_documents_* cover the rest).
    assert [w for w in warnings if "workflows/api/" in w] == []


# -- end to end ---------------------------------------------------------------------------------------------
@pytest.mark.e2e
@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_it_runs_an_action_through_a_real_worker(tenant_a, project_a, live_worker):
    board = BoardFactory(project=project_a, approve_steps=[
        {"name": "house", "type": "update_record", "config": {"fields": {"House": "Gryffindor"},
                                                              "checklist": ["Letter sent"]}},
        {"name": "note", "type": "log", "config": {"message": "{{ record.fields.Name }} approved"},
         "depends_on": ["house"]},
    ])
    client = key_client(tenant_a, Role.WORKFLOW)
    execution_id = execute(client).json()["id"]
    wait_until(lambda: client.get(f"{EXECUTIONS}/{execution_id}").json()["status"] != "Pending", timeout=60)
    assert client.get(f"{EXECUTIONS}/{execution_id}").json() == {"id": execution_id, "status": "Success"}
    # The move happens in the worker right after the execution ends.
    wait_until(lambda: Record.objects.get(pk=board.record.pk).stage_id == board.approved.id, timeout=30)
    record = Record.objects.get(pk=board.record.pk)
    assert record.fields["House"] == "Gryffindor"
    assert RecordEvent.objects.filter(record=record, execution_id=execution_id, outcome="succeeded").exists()


@pytest.mark.e2e
@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_failing_step_leaves_the_task_in_its_stage_through_a_real_worker(tenant_a, project_a, live_worker):
    board = BoardFactory(project=project_a, approve_steps=[
        {"name": "check", "type": "fail", "config": {"message": "foo is not a valid email"}},
    ])
    client = key_client(tenant_a, Role.WORKFLOW)
    execution_id = execute(client).json()["id"]
    wait_until(lambda: client.get(f"{EXECUTIONS}/{execution_id}").json()["status"] != "Pending", timeout=60)
    assert client.get(f"{EXECUTIONS}/{execution_id}").json() == {
        "id": execution_id, "status": "Fail", "errors": ["foo is not a valid email"]}
    wait_until(lambda: RecordEvent.objects.filter(record=board.record, outcome="failed").exists(), timeout=30)
    assert Record.objects.get(pk=board.record.pk).stage_id == board.new.id


def test_a_viewer_gets_no_replay_of_an_action_execution(board, workflow_api, viewer_api):
    body = {"task_id": "678", "action_id": "edHR10"}
    path = f"/api/v1/workflows/{board.workflow.id}/executions"
    assert workflow_api.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY="k1").status_code == 201
    response = viewer_api.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert response.status_code == 403
