"""FlowSynx's workflow-execution API at the server root: every documented request and answer.

Who may reach what: alice (admin) and walter (workflow) may call every endpoint of tenant A;
april (approver) and victor (viewer) are refused with 403; oscar (tenant B) sees 404 for A's
objects. Every answer, errors included, is the envelope {data, messages, succeeded, generatedAtUtc}.
"""

from __future__ import annotations

import json
import re
import uuid

import pytest

from accounts.models import Role
from approvals.models import Approval, ApprovalStatus
from executions.api import surface_urls
from executions.models import Execution, ExecutionStatus
from tests.conftest import basic_header, key_client
from tests.executions.factories import ExecutionFactory
from tests.support.openapi import generate_document
from tests.workflows.factories import WorkflowFactory

pytestmark = pytest.mark.django_db

UTC_SECONDS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
ENVELOPE_KEYS = {"data", "messages", "succeeded", "generatedAtUtc"}
GREETING = [
    {"name": "greet", "type": "set", "config": {"values": {"greeting": "hello {{ input.who | default('world') }}"}}},
    {"name": "note", "type": "log", "config": {"message": "{{ tasks.greet.output.greeting }}"}, "depends_on": ["greet"]},
    {"name": "answer", "type": "response", "config": {"value": "{{ tasks.greet.output.greeting }}"},
     "depends_on": ["note"]},
]
APPROVAL = [
    {"name": "approve", "type": "approval", "config": {"title": "Go?", "approvers": {"roles": ["admin", "workflow"]}}},
    {"name": "answer", "type": "response", "config": {"value": "approved"}, "depends_on": ["approve"]},
]


# -- fixtures ------------------------------------------------------------------------------------------
@pytest.fixture
def workflow(project_a):
    return WorkflowFactory(project=project_a, tasks=GREETING, name="sample-flowsynx-workflow",
                           description="This is a sample flowsynx workflow")


@pytest.fixture
def finished(workflow):
    """A completed execution with three task runs and their logs."""
    return ExecutionFactory(workflow=workflow, input={"who": "FlowSynx"}, run=True)


@pytest.fixture
def parked(project_a):
    """An execution waiting on a pending approval (the engine ran eagerly up to it)."""
    flow = WorkflowFactory(project=project_a, tasks=APPROVAL, name="approval-flow")
    execution = ExecutionFactory(workflow=flow, run=True)
    assert execution.status == ExecutionStatus.WAITING
    return execution, Approval.objects.get(execution=execution)


def base(execution: Execution) -> str:
    return f"/workflows/{execution.workflow_id}/executions/{execution.id}"


def assert_envelope(response, status_code: int = 200, messages: list[str] | None = None) -> dict:
    assert response.status_code == status_code, response.content
    body = response.json()
    assert set(body) == ENVELOPE_KEYS
    assert body["succeeded"] is (status_code < 400)
    assert UTC_SECONDS.match(body["generatedAtUtc"])
    if messages is not None:
        assert body["messages"] == messages
    if status_code >= 400:
        assert body["data"] is None and body["messages"] and all(isinstance(m, str) for m in body["messages"])
    return body


# -- the ten endpoints, as the document shows them -----------------------------------------------------
def test_it_lists_a_workflows_executions(admin_api, workflow, finished):
    response = admin_api.get(f"/workflows/{workflow.id}/executions")
    body = assert_envelope(response, messages=[])
    [item] = body["data"]
    assert set(item) == {"id", "status", "executionStart", "executionEnd"}
    assert item["id"] == str(finished.id) and item["status"] == "Completed"
    assert UTC_SECONDS.match(item["executionStart"]) and UTC_SECONDS.match(item["executionEnd"])


def test_it_shows_an_executions_details_with_the_definition_it_ran(admin_api, workflow, finished):
    response = admin_api.get(base(finished))
    data = assert_envelope(response, messages=[])["data"]
    assert set(data) == {"workflowId", "executionId", "workflow", "status", "executionStart", "executionEnd"}
    assert (data["workflowId"], data["executionId"], data["status"]) == (str(workflow.id), str(finished.id), "Completed")
    document = json.loads(data["workflow"])
    assert list(document) == ["name", "description", "tasks"]
    assert (document["name"], document["description"]) == ("sample-flowsynx-workflow", "This is a sample flowsynx workflow")
    assert [t["name"] for t in document["tasks"]] == ["greet", "note", "answer"]


def test_it_shows_the_running_word_and_a_null_end_for_an_unfinished_execution(admin_api, workflow):
    execution = ExecutionFactory(workflow=workflow)  # queued: no worker ran it
    data = admin_api.get(base(execution)).json()["data"]
    assert (data["status"], data["executionEnd"]) == ("Pending", None)


def test_it_answers_an_executions_logs(admin_api, finished):
    response = admin_api.get(f"{base(finished)}/logs")
    logs = assert_envelope(response, messages=[])["data"]
    assert logs and all(set(log) == {"id", "message", "level", "timeStamp", "exception"} for log in logs)
    assert {log["level"] for log in logs} <= {"Info", "Warning", "Error", "Debug"}
    assert "hello FlowSynx" in [log["message"] for log in logs]
    assert all(uuid.UUID(log["id"]) and UTC_SECONDS.match(log["timeStamp"]) for log in logs)
    assert logs[0]["exception"] is None


def test_it_lists_an_executions_tasks(admin_api, workflow, finished):
    response = admin_api.get(f"{base(finished)}/tasks")
    tasks = assert_envelope(response, messages=[])["data"]
    assert [t["name"] for t in tasks] == ["greet", "note", "answer"]
    first = tasks[0]
    assert set(first) == {"id", "name", "workflowId", "workflowExecutionId", "status", "message", "startTime", "endTime"}
    assert (first["workflowId"], first["workflowExecutionId"], first["status"]) == (
        str(workflow.id), str(finished.id), "Completed")
    assert UTC_SECONDS.match(first["startTime"]) and UTC_SECONDS.match(first["endTime"])


def test_it_shows_a_tasks_details(admin_api, finished):
    task_run = finished.task_runs.get(name="greet")
    response = admin_api.get(f"{base(finished)}/tasks/{task_run.id}")
    data = assert_envelope(response, messages=[])["data"]
    assert set(data) == {"id", "status", "message", "startTime", "endTime"}
    assert (data["id"], data["status"]) == (str(task_run.id), "Completed")


def test_it_answers_a_tasks_logs_only(admin_api, finished):
    task_run = finished.task_runs.get(name="note")
    response = admin_api.get(f"{base(finished)}/tasks/{task_run.id}/logs")
    logs = assert_envelope(response, messages=[])["data"]
    assert "hello FlowSynx" in [log["message"] for log in logs]
    assert len(logs) == task_run.logs.count() < finished.logs.count()


def test_it_executes_a_workflow(admin_api, workflow):
    response = admin_api.post(f"/workflows/{workflow.id}/executions", {"workflowId": str(workflow.id)}, format="json")
    body = assert_envelope(response, 200, ["Workflow execution started."])
    assert set(body["data"]) == {"workflowId", "executionId", "startedAt"}
    execution = Execution.objects.get(pk=body["data"]["executionId"])
    assert (execution.workflow_id, execution.input, body["data"]["workflowId"]) == (workflow.id, {}, str(workflow.id))
    assert UTC_SECONDS.match(body["data"]["startedAt"])


def test_it_passes_the_optional_input_to_the_execution(workflow_api, workflow, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = workflow_api.post(f"/workflows/{workflow.id}/executions",
                                     {"workflowId": str(workflow.id), "input": {"who": "input"}}, format="json")
    execution = Execution.objects.get(pk=response.json()["data"]["executionId"])
    assert (execution.input, execution.return_value) == ({"who": "input"}, "hello input")


@pytest.mark.parametrize("body, field", [
    ({}, "workflowId: This field is required."),
    ({"workflowId": "not-a-uuid"}, "workflowId: Must be a valid UUID."),
    ({"workflowId": str(uuid.uuid4())}, "is not the workflow in the path"),
    ({"workflowId": "{id}", "input": [1]}, "input: Must be a JSON object."),
])
def test_it_refuses_a_bad_execute_body_with_400(admin_api, workflow, body, field):
    body = {k: (v.format(id=workflow.id) if isinstance(v, str) else v) for k, v in body.items()}
    response = admin_api.post(f"/workflows/{workflow.id}/executions", body, format="json")
    messages = assert_envelope(response, 400)["messages"]
    assert any(field in m for m in messages), messages
    assert not Execution.objects.exists()


def test_it_cancels_an_execution(admin_api, workflow):
    execution = ExecutionFactory(workflow=workflow)
    response = admin_api.post(f"{base(execution)}/cancel")
    body = assert_envelope(response, 200, ["The workflow execution has been canceled."])
    assert body["data"] == {}
    execution.refresh_from_db()
    assert execution.status == ExecutionStatus.CANCELLED
    assert admin_api.get(base(execution)).json()["data"]["status"] == "Cancelled"


def test_it_answers_409_when_cancelling_a_finished_execution(admin_api, finished):
    response = admin_api.post(f"{base(finished)}/cancel")
    messages = assert_envelope(response, 409)["messages"]
    assert "only unfinished executions can be cancelled" in messages[0]


def test_it_approves_a_pending_step(admin_api, parked, django_capture_on_commit_callbacks):
    execution, approval = parked
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_api.post(f"{base(execution)}/approvals/{approval.id}/approve")
    body = assert_envelope(response, 200, ["The workflow execution step has been approved."])
    assert body["data"] == {}
    approval.refresh_from_db()
    execution.refresh_from_db()
    assert (approval.status, execution.status, execution.return_value) == (ApprovalStatus.APPROVED, "succeeded", "approved")


def test_it_rejects_a_pending_step(workflow_api, parked, django_capture_on_commit_callbacks):
    execution, approval = parked
    with django_capture_on_commit_callbacks(execute=True):
        response = workflow_api.post(f"{base(execution)}/approvals/{approval.id}/reject")
    assert_envelope(response, 200, ["The workflow execution step has been rejected."])
    approval.refresh_from_db()
    execution.refresh_from_db()
    assert (approval.status, execution.status) == (ApprovalStatus.REJECTED, "failed")


def test_it_answers_409_for_a_second_decision(admin_api, parked, django_capture_on_commit_callbacks):
    execution, approval = parked
    with django_capture_on_commit_callbacks(execute=True):
        assert admin_api.post(f"{base(execution)}/approvals/{approval.id}/approve").status_code == 200
    response = admin_api.post(f"{base(execution)}/approvals/{approval.id}/reject")
    assert_envelope(response, 409)


def test_it_answers_404_for_an_approval_of_another_execution(admin_api, parked, finished):
    _, approval = parked
    response = admin_api.post(f"{base(finished)}/approvals/{approval.id}/approve")
    assert_envelope(response, 404)
    approval.refresh_from_db()
    assert approval.status == ApprovalStatus.PENDING


# -- authentication and roles --------------------------------------------------------------------------
def endpoints(execution: Execution, approval_id: uuid.UUID) -> list[tuple[str, str]]:
    task_run = execution.task_runs.first()
    root = base(execution)
    return [
        ("get", f"/workflows/{execution.workflow_id}/executions"),
        ("get", root),
        ("get", f"{root}/logs"),
        ("get", f"{root}/tasks"),
        ("get", f"{root}/tasks/{task_run.id}"),
        ("get", f"{root}/tasks/{task_run.id}/logs"),
        ("post", f"/workflows/{execution.workflow_id}/executions"),
        ("post", f"{root}/cancel"),
        ("post", f"{root}/approvals/{approval_id}/approve"),
        ("post", f"{root}/approvals/{approval_id}/reject"),
    ]


@pytest.mark.parametrize("role", [Role.APPROVER, Role.VIEWER])
def test_it_refuses_roles_other_than_admin_and_workflow_with_403(tenant_a, parked, role):
    execution, approval = parked
    client = key_client(tenant_a, role)
    for method, url in endpoints(execution, approval.id):
        response = getattr(client, method)(url, {"workflowId": str(execution.workflow_id)}, format="json")
        messages = assert_envelope(response, 403)["messages"]
        assert "admin, workflow" in messages[0], (url, messages)
    approval.refresh_from_db()
    assert approval.status == ApprovalStatus.PENDING


def test_it_refuses_a_user_with_the_approver_role_over_basic_with_403(april, user_api, finished):
    assert_envelope(user_api(april).get(base(finished)), 403)


def test_it_accepts_basic_authentication(walter, user_api, finished):
    response = user_api(walter).get(f"/workflows/{finished.workflow_id}/executions")
    assert [e["id"] for e in assert_envelope(response)["data"]] == [str(finished.id)]


def test_it_accepts_bearer_authentication(workflow_api, finished):
    assert assert_envelope(workflow_api.get(base(finished)))["data"]["executionId"] == str(finished.id)


@pytest.mark.parametrize("authorization", [None, "Bearer fg_wrong_secret", "<bad basic>"])
def test_it_answers_401_in_the_envelope_without_valid_credentials(client, finished, walter, authorization):
    headers = {}
    if authorization == "<bad basic>":
        headers["HTTP_AUTHORIZATION"] = basic_header("walter", "wrong-password")
    elif authorization:
        headers["HTTP_AUTHORIZATION"] = authorization
    response = client.get(base(finished), **headers)
    assert_envelope(response, 401)
    assert "Bearer" in response["WWW-Authenticate"] and "Basic" in response["WWW-Authenticate"]


# -- not found: malformed ids, other tenants, mismatched paths ------------------------------------------
def test_it_answers_404_for_malformed_ids(admin_api, parked):
    execution, approval = parked
    task_run = execution.task_runs.first()
    for url in [
        "/workflows/not-a-uuid/executions",
        f"/workflows/not-a-uuid/executions/{execution.id}",
        f"/workflows/{execution.workflow_id}/executions/123",
        f"/workflows/{execution.workflow_id}/executions/123/logs",
        f"/workflows/{execution.workflow_id}/executions/123/tasks",
        f"{base(execution)}/tasks/nope",
        f"{base(execution)}/tasks/nope/logs",
    ]:
        assert_envelope(admin_api.get(url), 404)
    assert_envelope(admin_api.post("/workflows/zzz/executions", {"workflowId": "zzz"}, format="json"), 404)
    assert_envelope(admin_api.post(f"/workflows/{execution.workflow_id}/executions/x/cancel"), 404)
    assert_envelope(admin_api.post(f"{base(execution)}/approvals/not-a-uuid/approve"), 404)
    assert_envelope(admin_api.post(f"{base(execution)}/approvals/not-a-uuid/reject"), 404)
    assert_envelope(admin_api.get(f"{base(execution)}/tasks/{task_run.id}"), 200)


def test_it_answers_404_for_another_tenants_objects(outsider_api, parked):
    execution, approval = parked
    for method, url in endpoints(execution, approval.id):
        response = getattr(outsider_api, method)(url, {"workflowId": str(execution.workflow_id)}, format="json")
        assert_envelope(response, 404)
    execution.refresh_from_db()
    assert execution.status == ExecutionStatus.WAITING and not execution.cancel_requested


def test_it_answers_404_when_the_execution_is_not_of_the_workflow_in_the_path(admin_api, project_a, finished):
    other = WorkflowFactory(project=project_a, tasks=GREETING, name="other")
    response = admin_api.get(f"/workflows/{other.id}/executions/{finished.id}")
    assert "not found for workflow" in assert_envelope(response, 404)["messages"][0]
    assert_envelope(admin_api.post(f"/workflows/{other.id}/executions/{finished.id}/cancel"), 404)


def test_it_answers_404_for_a_task_of_another_execution(admin_api, workflow, finished):
    execution = ExecutionFactory(workflow=workflow)
    task_run = finished.task_runs.first()
    assert_envelope(admin_api.get(f"{base(execution)}/tasks/{task_run.id}"), 404)


def test_it_has_no_trailing_slash_paths(admin_api, finished):
    assert admin_api.get(f"/workflows/{finished.workflow_id}/executions/").status_code == 404


def test_it_answers_405_in_the_envelope_for_other_methods(admin_api, finished):
    assert_envelope(admin_api.delete(base(finished)), 405)


# -- lists: paging and query counts --------------------------------------------------------------------
def test_it_pages_long_lists(admin_api, workflow):
    ids = [str(ExecutionFactory(workflow=workflow).id) for _ in range(5)]
    newest_first = list(reversed(ids))
    url = f"/workflows/{workflow.id}/executions"
    assert [e["id"] for e in admin_api.get(url).json()["data"]] == newest_first
    assert [e["id"] for e in admin_api.get(url, {"pageSize": 2}).json()["data"]] == newest_first[:2]
    assert [e["id"] for e in admin_api.get(url, {"pageSize": 2, "page": 3}).json()["data"]] == newest_first[4:]
    assert admin_api.get(url, {"page": 9}).json()["data"] == []
    for bad in ({"pageSize": 0}, {"pageSize": 1001}, {"page": "x"}):
        assert "Must be a whole number" in assert_envelope(admin_api.get(url, bad), 400)["messages"][0]


def test_it_lists_in_a_constant_number_of_queries(admin_api, workflow, finished, django_assert_num_queries):
    task_run = finished.task_runs.get(name="note")
    expected = {
        f"/workflows/{workflow.id}/executions": 3,  # the key, the workflow, the executions
        f"{base(finished)}/logs": 3,  # the key, the execution, the logs
        f"{base(finished)}/tasks": 3,  # the key, the execution, the task runs
        f"{base(finished)}/tasks/{task_run.id}/logs": 4,  # the key, the execution, the task run, its logs
    }

    def assert_counts() -> None:
        for url, count in expected.items():
            with django_assert_num_queries(count):
                assert admin_api.get(url).status_code == 200

    admin_api.get(base(finished))  # the key's last-used time is written once; later requests only read it
    assert_counts()
    for _ in range(3):
        ExecutionFactory(workflow=workflow, run=True)
    assert finished.logs.count() > 3
    assert_counts()


def test_only_the_details_read_the_definition(admin_api, finished):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def reads_definition(path: str) -> bool:
        with CaptureQueriesContext(connection) as queries:
            assert admin_api.get(f"{base(finished)}{path}").status_code == 200
        return any('"workflows_workflowversion"."definition"' in query["sql"] for query in queries)

    assert reads_definition("")
    assert not any(reads_definition(path) for path in ("/logs", "/tasks"))


def test_it_answers_an_unexpected_error_with_a_500_in_the_envelope(admin_api, workflow, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr("executions.services.start_execution", broken)
    response = admin_api.post(f"/workflows/{workflow.id}/executions", {"workflowId": str(workflow.id)},
                              format="json")
    assert assert_envelope(response, 500)["messages"] == [
        "Internal server error. The failure was logged; retrying may help."]


# -- OpenAPI -------------------------------------------------------------------------------------------
def test_it_documents_every_endpoint_in_the_openapi_schema(admin_api):
    from drf_spectacular.drainage import GENERATOR_STATS

    GENERATOR_STATS.reset()
    response = admin_api.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    schema = json.loads(response.content)
    paths = {path: set(methods) & {"get", "post"} for path, methods in schema["paths"].items()
             if path.startswith("/workflows/")}
    execution = "/workflows/{workflowId}/executions/{executionId}"
    assert paths == {
        "/workflows/{workflowId}/executions": {"get", "post"},
        execution: {"get"},
        f"{execution}/logs": {"get"},
        f"{execution}/tasks": {"get"},
        f"{execution}/tasks/{{taskExecutionId}}": {"get"},
        f"{execution}/tasks/{{taskExecutionId}}/logs": {"get"},
        f"{execution}/cancel": {"post"},
        f"{execution}/approvals/{{approvalId}}/approve": {"post"},
        f"{execution}/approvals/{{approvalId}}/reject": {"post"},
    }
    warnings = [w for w in [*GENERATOR_STATS._warn_cache, *GENERATOR_STATS._error_cache]
                if "flowsynx" in w.lower() or "refold" in w.lower()]
    assert warnings == []


def test_it_generates_the_surface_schema_without_warnings():
    _, warnings = generate_document(surface_urls.urlpatterns)
    assert warnings == {}
