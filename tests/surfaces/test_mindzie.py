"""mindzie's Execute Action API: its paths, 200/404/401 bodies and status words, plus Get Action and
the progress of an action execution."""

from __future__ import annotations

import uuid

import pytest

from accounts.models import Role
from executions.engine import advance
from executions.models import Execution, ExecutionStatus
from executions.status_words import SURFACES, status_word, surface_words
from records import actions as action_services
from records.api import urls as records_urls
from tests.accounts.factories import ProjectFactory
from tests.conftest import key_client
from tests.executions.factories import ExecutionFactory
from tests.records.factories import ActionFactory, StageFactory
from tests.support.clients import APIClient
from tests.support.openapi import generate_document
from tests.workflows.factories import WorkflowFactory

pytestmark = pytest.mark.django_db

LOG_STEP = {"tasks": [{"name": "n", "type": "log", "config": {"message": "x"}}]}
EXECUTE_KEYS = {"actionId", "actionExecutionId", "dateStarted", "dateEnded", "status", "notes"}


@pytest.fixture
def report(project_a):
    """A project-level action (no record), as mindzie runs them."""
    return ActionFactory(project=project_a, name="Refresh report", description="Rebuild the monthly report",
                         steps={"tasks": [{"name": "build", "type": "set", "config": {"values": {"rows": 3}}}]})


def base(tenant, project) -> str:
    return f"/api/{tenant.id}/{project.id}/action"


# -- Execute Action -------------------------------------------------------------------------------------------
def test_it_queues_the_action_and_answers_as_documented(tenant_a, project_a, report, workflow_api):
    response = workflow_api.get(f"{base(tenant_a, project_a)}/execute/{report.id}")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == EXECUTE_KEYS
    assert body["actionId"] == str(report.id)
    assert (body["status"], body["dateEnded"], body["notes"]) == ("Queued", None, None)
    assert body["dateStarted"].endswith("Z")
    execution = Execution.objects.get(pk=body["actionExecutionId"])
    assert (execution.action_link.action, execution.project, execution.action_link.record) == (report, project_a, None)
    assert execution.get_definition()["tasks"][0]["name"] == "build"


def test_each_call_creates_a_new_execution(tenant_a, project_a, report, workflow_api):
    url = f"{base(tenant_a, project_a)}/execute/{report.id}"
    ids = {workflow_api.get(url).json()["actionExecutionId"] for _ in range(3)}
    assert len(ids) == 3


def test_an_idempotency_key_dedupes_repeated_calls(tenant_a, project_a, report, workflow_api):
    url = f"{base(tenant_a, project_a)}/execute/{report.id}"
    first = workflow_api.get(url, HTTP_IDEMPOTENCY_KEY="nightly-2024-01-15")
    again = workflow_api.get(url, HTTP_IDEMPOTENCY_KEY="nightly-2024-01-15")
    assert (first.status_code, again.status_code) == (200, 200)
    assert first.json()["actionExecutionId"] == again.json()["actionExecutionId"]
    assert Execution.objects.count() == 1


def test_it_runs_an_action_of_a_workflow_in_that_workflow(tenant_a, project_a, workflow_api):
    workflow = WorkflowFactory(project=project_a, alias="reports")
    action = ActionFactory(workflow=workflow, name="Run", steps=LOG_STEP)
    body = workflow_api.get(f"{base(tenant_a, project_a)}/execute/{action.id}").json()
    assert Execution.objects.get(pk=body["actionExecutionId"]).workflow == workflow


def test_it_answers_404_action_not_found(tenant_a, project_a, project_b, workflow_api):
    other = ActionFactory(project=project_b, name="Theirs", steps=LOG_STEP)
    for action_id in (str(uuid.uuid4()), str(other.id), "not-a-guid", "12345"):
        response = workflow_api.get(f"{base(tenant_a, project_a)}/execute/{action_id}")
        assert response.status_code == 404
        assert response.json() == {"error": "Action not found", "actionId": action_id}
    assert not Execution.objects.exists()


@pytest.mark.parametrize("change", [
    {"enabled": False},
    {"steps": {"tasks": []}},
    {"requirements": {"conditions": [{"expression": "false", "message": "Not at month end"}]}},
    {"requirements": {"must_be_assigned": True}},
])
def test_it_answers_404_when_the_action_cant_create_an_execution(tenant_a, project_a, report, workflow_api, change):
    action_services.update_action(report, **change)
    response = workflow_api.get(f"{base(tenant_a, project_a)}/execute/{report.id}")
    assert response.status_code == 404
    assert response.json() == {"error": "Action can't create execution", "actionId": str(report.id)}
    assert not Execution.objects.exists()


def test_a_record_action_cant_run_without_a_record(tenant_a, project_a, workflow_api):
    workflow = WorkflowFactory(project=project_a, alias="board")
    StageFactory(workflow=workflow, name="New")
    action = ActionFactory(workflow=workflow, name="Approve", stages=["New"], steps=LOG_STEP)
    response = workflow_api.get(f"{base(tenant_a, project_a)}/execute/{action.id}")
    assert response.json() == {"error": "Action can't create execution", "actionId": str(action.id)}


def test_a_condition_over_no_record_can_pass(tenant_a, project_a, report, workflow_api):
    action_services.update_action(report, requirements={"conditions": [{"expression": "record is none",
                                                                        "message": "runs on no task"}]})
    assert workflow_api.get(f"{base(tenant_a, project_a)}/execute/{report.id}").status_code == 200


def test_it_answers_401_with_a_message(tenant_a, project_a, report):
    url = f"{base(tenant_a, project_a)}/execute/{report.id}"
    response = APIClient().get(url)
    assert response.status_code == 401
    assert response.json() == {"error": "Authentication credentials were not provided."}
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    bad = APIClient()
    bad.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")
    response = bad.get(url)
    assert response.status_code == 401
    assert set(response.json()) == {"error"} and "API key" in response.json()["error"]
    assert not Execution.objects.exists()


def test_it_answers_404_for_a_tenant_or_project_the_token_does_not_reach(
        tenant_a, project_a, tenant_b, project_b, report, workflow_api, outsider_api):
    url = f"/execute/{report.id}"
    cases = [
        (outsider_api, base(tenant_a, project_a)),  # tenant B's token, tenant A's ids
        (outsider_api, f"/api/{tenant_b.id}/{project_a.id}/action"),  # its own tenant, A's project
        (workflow_api, base(tenant_b, project_b)),  # tenant A's token, tenant B's ids
        (workflow_api, f"/api/{tenant_a.id}/{project_b.id}/action"),
    ]
    for client, prefix in cases:
        response = client.get(prefix + url)
        assert response.status_code == 404, prefix
        assert response.json()["error"] in ("Tenant not found", "Project not found")
        assert "actionId" not in response.json()
    assert not Execution.objects.exists()


def test_a_project_bound_key_reaches_only_its_project(tenant_a, project_a, report):
    other_project = ProjectFactory(tenant=tenant_a, name="Side")
    bound = key_client(tenant_a, Role.WORKFLOW, project=other_project)
    response = bound.get(f"{base(tenant_a, project_a)}/execute/{report.id}")
    assert response.status_code == 404
    assert response.json() == {"error": "Project not found", "projectId": str(project_a.id)}


def test_it_answers_malformed_guids_with_json_not_500(tenant_a, project_a, report, workflow_api):
    for path in (f"/api/not-a-guid/{project_a.id}/action/execute/{report.id}",
                 f"/api/{tenant_a.id}/1234/action/execute/{report.id}",
                 f"/api/{tenant_a.id}/{project_a.id}/action/execute/zzz",
                 f"/api/{tenant_a.id}/{project_a.id}/action/execution/zzz",
                 f"/api/{tenant_a.id}/{project_a.id}/action/zzz"):
        response = workflow_api.get(path)
        assert response.status_code == 404, path
        assert "error" in response.json()


def test_it_refuses_a_viewer_token(tenant_a, project_a, report, viewer_api):
    response = viewer_api.get(f"{base(tenant_a, project_a)}/execute/{report.id}")
    assert response.status_code == 403
    assert response.json() == {"error": "Your role (viewer) may not perform 'Refresh report'; it needs one of: "
                                        "admin, workflow.", "actionId": str(report.id)}
    assert not Execution.objects.exists()


# -- Get Action -----------------------------------------------------------------------------------------------
def test_get_action_says_whether_it_exists_and_is_enabled(tenant_a, project_a, report, viewer_api):
    response = viewer_api.get(f"{base(tenant_a, project_a)}/{report.id}")
    assert response.status_code == 200
    assert response.json() == {"actionId": str(report.id), "name": "Refresh report",
                               "description": "Rebuild the monthly report", "enabled": True}
    # The short id Flowdash clients use names the same action.
    assert viewer_api.get(f"{base(tenant_a, project_a)}/{report.short_id}").json()["actionId"] == str(report.id)
    action_services.update_action(report, enabled=False)
    assert viewer_api.get(f"{base(tenant_a, project_a)}/{report.id}").json()["enabled"] is False
    missing = str(uuid.uuid4())
    response = viewer_api.get(f"{base(tenant_a, project_a)}/{missing}")
    assert response.status_code == 404
    assert response.json() == {"error": "Action not found", "actionId": missing}


# -- an execution's progress --------------------------------------------------------------------------------
def test_progress_goes_from_queued_to_completed(tenant_a, project_a, report, workflow_api,
                                                django_capture_on_commit_callbacks):
    execution_id = workflow_api.get(f"{base(tenant_a, project_a)}/execute/{report.id}").json()["actionExecutionId"]
    url = f"{base(tenant_a, project_a)}/execution/{execution_id}"
    queued = workflow_api.get(url)
    assert queued.status_code == 200
    assert queued.json()["status"] == "Queued" and queued.json()["dateEnded"] is None
    with django_capture_on_commit_callbacks(execute=True):
        advance(execution_id)
    done = workflow_api.get(url).json()
    assert set(done) == EXECUTE_KEYS
    assert (done["status"], done["notes"], done["actionExecutionId"]) == ("Completed", None, execution_id)
    assert done["dateEnded"] is not None and done["dateStarted"] == queued.json()["dateStarted"]


def test_progress_shows_running_while_a_step_waits(tenant_a, project_a, workflow_api,
                                                   django_capture_on_commit_callbacks):
    action = ActionFactory(project=project_a, name="Slow", steps={"tasks": [
        {"name": "later", "type": "delay", "config": {"seconds": 3600}}]})
    with django_capture_on_commit_callbacks(execute=True):
        execution_id = workflow_api.get(f"{base(tenant_a, project_a)}/execute/{action.id}").json()[
            "actionExecutionId"]
    assert Execution.objects.get(pk=execution_id).status == ExecutionStatus.WAITING
    body = workflow_api.get(f"{base(tenant_a, project_a)}/execution/{execution_id}").json()
    assert (body["status"], body["dateEnded"]) == ("Running", None)


def test_progress_shows_failed_with_the_error_in_notes(tenant_a, project_a, workflow_api,
                                                       django_capture_on_commit_callbacks):
    action = ActionFactory(project=project_a, name="Broken", steps={"tasks": [
        {"name": "check", "type": "fail", "config": {"message": "Source data is missing for January"}}]})
    with django_capture_on_commit_callbacks(execute=True):
        execution_id = workflow_api.get(f"{base(tenant_a, project_a)}/execute/{action.id}").json()[
            "actionExecutionId"]
    response = workflow_api.get(f"{base(tenant_a, project_a)}/execution/{execution_id}")
    body = response.json()
    assert body["status"] == "Failed"
    assert body["notes"] == "Source data is missing for January"
    assert body["dateEnded"] is not None


def test_progress_of_an_unknown_or_foreign_execution_is_404(tenant_a, project_a, tenant_b, project_b, report,
                                                            workflow_api, outsider_api):
    execution_id = workflow_api.get(f"{base(tenant_a, project_a)}/execute/{report.id}").json()["actionExecutionId"]
    missing = str(uuid.uuid4())
    response = workflow_api.get(f"{base(tenant_a, project_a)}/execution/{missing}")
    assert response.status_code == 404
    assert response.json() == {"error": "Action execution not found", "actionExecutionId": missing}
    assert outsider_api.get(f"{base(tenant_b, project_b)}/execution/{execution_id}").status_code == 404
    # A plain workflow execution is not an action execution.
    plain = ExecutionFactory(workflow=WorkflowFactory(project=project_a, alias="plain"))
    assert workflow_api.get(f"{base(tenant_a, project_a)}/execution/{plain.id}").status_code == 404


# -- status words ---------------------------------------------------------------------------------------------
def test_it_maps_internal_statuses_to_mindzie_words():
    words = {s: status_word("mindzie", s) for s in ("queued", "running", "waiting", "succeeded", "failed",
                                                    "cancelled")}
    assert words == {"queued": "Queued", "running": "Running", "waiting": "Running", "succeeded": "Completed",
                     "failed": "Failed", "cancelled": "Failed"}
    assert surface_words("mindzie") == ["Queued", "Running", "Completed", "Failed"]


def test_the_status_table_covers_every_surface_and_status():
    for surface in SURFACES:
        for status in ExecutionStatus.values:
            assert status_word(surface, status)
    assert status_word("refold", "waiting") == "RUNNING"
    assert status_word("flowsynx", "queued") == "Pending"
    assert status_word("flowsynx", "cancelled") == "Cancelled"
    # Port's column holds the phases flow runs are written with.
    from flowruns.services import Phase

    assert {status_word("port", s) for s in ("queued", "running", "waiting", "succeeded", "failed", "cancelled",
                                             "pending", "skipped")} <= set(Phase.ALL)
    with pytest.raises(ValueError, match="Unknown surface"):
        status_word("zapier", "queued")
    with pytest.raises(ValueError, match="Unknown status"):
        status_word("mindzie", "exploded")


# -- OpenAPI ------------------------------------------------------------------------------------------------
def test_it_documents_the_mindzie_endpoints_without_warnings():
    schema, warnings = generate_document(records_urls.urlpatterns)
    assert warnings == {}
    for path in ("/api/{tenantId}/{projectId}/action/execute/{actionId}",
                 "/api/{tenantId}/{projectId}/action/{actionId}",
                 "/api/{tenantId}/{projectId}/action/execution/{actionExecutionId}"):
        assert set(schema["paths"][path]) == {"get"}
    execute = schema["paths"]["/api/{tenantId}/{projectId}/action/execute/{actionId}"]["get"]
    assert {"200", "401", "404"} <= set(execute["responses"])


# -- CSRF on a GET that starts work --------------------------------------------------------------------------
def test_it_does_not_execute_for_a_browser_session(tenant_a, project_a, alice):
    """Execute Action is a GET; a session cookie (sent on a top-level cross-site link) must not start it."""
    action = ActionFactory(project=project_a, name="Report", steps={
        "tasks": [{"name": "build", "type": "set", "config": {"values": {"rows": 3}}}]})
    browser = APIClient()
    browser.force_login(alice)
    response = browser.get(f"/api/{tenant_a.id}/{project_a.id}/action/execute/{action.id}")
    assert response.status_code == 401
    assert not Execution.objects.exists()
    # Reading with a session still works.
    assert browser.get(f"/api/{tenant_a.id}/{project_a.id}/action/{action.id}").status_code == 200
