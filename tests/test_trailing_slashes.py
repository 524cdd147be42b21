"""The native API answers at its paths with or without the trailing slash (APPEND_SLASH is off)."""

import pytest

from approvals.models import Approval
from tests.accounts.factories import user_caller
from tests.approvals.factories import ApprovalFactory, ApprovalWorkflowFactory
from tests.executions.factories import ExecutionFactory
from tests.workflows.factories import WorkflowFactory

pytestmark = pytest.mark.django_db

SIMPLE = [
    {"name": "greet", "type": "set", "config": {"values": {"text": "hi"}}},
    {"name": "answer", "type": "response", "config": {"value": "{{ tasks.greet.output.text }}"},
     "depends_on": ["greet"]},
]


@pytest.fixture
def finished(project_a):
    workflow = WorkflowFactory(project=project_a, tasks=SIMPLE, alias="simple")
    execution = ExecutionFactory(workflow=workflow, run=True)
    assert execution.status == "succeeded"
    return execution


def both(path: str) -> tuple[str, str]:
    return path, f"{path}/"


def test_it_reads_workflows_and_executions_with_or_without_the_slash(admin_api, finished):
    execution_id = finished.id
    task_id = finished.task_runs.get(name="greet").id
    for base in (
        "/api/v1/workflows",
        "/api/v1/workflows/simple",
        f"/api/v1/workflows/{finished.workflow_id}",
        "/api/v1/workflows/simple/versions",
        "/api/v1/workflows/simple/versions/1",
        "/api/v1/executions",
        f"/api/v1/executions/{execution_id}",
        f"/api/v1/executions/{execution_id}/logs",
        f"/api/v1/executions/{execution_id}/tasks",
        f"/api/v1/executions/{execution_id}/tasks/{task_id}",
        f"/api/v1/executions/{execution_id}/tasks/greet",
        f"/api/v1/executions/{execution_id}/tasks/greet/logs",
        f"/api/v1/executions/{execution_id}/approvals",
        "/api/v1/approvals",
    ):
        for path in both(base):
            response = admin_api.get(path)
            assert response.status_code == 200, (path, response.status_code)
            assert response["Content-Type"].startswith("application/json"), path


def test_it_acts_on_executions_with_or_without_the_slash(workflow_api, finished):
    # A finished execution cannot be cancelled, and a succeeded one cannot be retried: both answer 409.
    for action in ("cancel", "retry"):
        for path in both(f"/api/v1/executions/{finished.id}/{action}"):
            response = workflow_api.post(path)
            assert response.status_code == 409, (path, response.status_code)
            assert set(response.json()) == {"detail", "errors"}


def test_it_decides_approvals_with_or_without_the_slash(project_a, walter, april, django_capture_on_commit_callbacks,
                                                        user_api):
    workflow = ApprovalWorkflowFactory(project=project_a, approval={"approvers": {"users": ["april"]}})
    first = ApprovalFactory(workflow=workflow, caller=user_caller(walter))
    second = ApprovalFactory(workflow=workflow, caller=user_caller(walter))
    client = user_api(april)
    assert client.get(f"/api/v1/approvals/{first.id}").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        approved = client.post(f"/api/v1/approvals/{first.id}/approve", {"comment": "ok"}, format="json")
        rejected = client.post(f"/api/v1/approvals/{second.id}/reject/", {"comment": "no"}, format="json")
    assert (approved.status_code, rejected.status_code) == (200, 200)
    assert Approval.objects.get(id=first.id).status == "approved"
    assert Approval.objects.get(id=second.id).status == "rejected"


def test_the_documented_native_read_of_an_action_execution_answers(admin_api, finished):
    """docs/mindzie.md sends readers to GET /api/v1/executions/{actionExecutionId} (no slash)."""
    body = admin_api.get(f"/api/v1/executions/{finished.id}").json()
    assert (body["id"], body["status"], body["return_value"]) == (str(finished.id), "succeeded", "hi")


def test_the_schema_keeps_one_spelling_per_path(admin_api):
    paths = admin_api.get("/api/schema/", HTTP_ACCEPT="application/json").json()["paths"]
    assert "/api/v1/executions/{id}/" in paths and "/api/v1/executions/{id}" not in paths
    assert "/api/v1/executions/{execution_id}/approvals/" in paths
    assert "/api/v1/executions/{execution_id}/approvals" not in paths
