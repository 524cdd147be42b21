"""Deleting a workflow that has run: its finished executions go with it; unfinished ones keep it (409)."""

import pytest

from executions.models import Execution, Log, TaskRun
from tests.accounts.factories import user_caller
from tests.approvals.factories import ApprovalFactory, ApprovalWorkflowFactory
from tests.executions.factories import ExecutionFactory
from tests.workflows.factories import WorkflowFactory
from workflows.models import Workflow, WorkflowVersion

pytestmark = pytest.mark.django_db

TASKS = [{"name": "answer", "type": "response", "config": {"value": "hi"}}]


def test_it_deletes_a_workflow_with_its_finished_executions(admin_api, project_a):
    workflow = WorkflowFactory(project=project_a, tasks=TASKS, alias="gone")
    execution = ExecutionFactory(workflow=workflow, run=True)
    assert execution.status == "succeeded"
    response = admin_api.delete("/api/v1/workflows/gone/")
    assert response.status_code == 204, response.content
    assert not Workflow.objects.filter(pk=workflow.pk).exists()
    assert not WorkflowVersion.objects.filter(workflow_id=workflow.pk).exists()
    assert not Execution.objects.filter(pk=execution.pk).exists()
    assert not TaskRun.objects.filter(execution_id=execution.pk).exists()
    assert not Log.objects.filter(execution_id=execution.pk).exists()


def test_it_keeps_a_workflow_whose_execution_is_unfinished(admin_api, project_a, walter):
    workflow = ApprovalWorkflowFactory(project=project_a, approval={"approvers": {"roles": ["approver"]}})
    execution = ApprovalFactory(workflow=workflow, caller=user_caller(walter)).execution
    response = admin_api.delete(f"/api/v1/workflows/{workflow.id}/")
    assert response.status_code == 409
    body = response.json()
    assert set(body) == {"detail", "errors"} and "unfinished" in body["detail"]
    assert Workflow.objects.filter(pk=workflow.pk).exists()
    assert Execution.objects.get(pk=execution.pk).status == "waiting"


def test_only_an_admin_deletes_and_another_tenant_gets_404(workflow_api, outsider_api, project_a):
    workflow = WorkflowFactory(project=project_a, tasks=TASKS, alias="kept")
    assert workflow_api.delete("/api/v1/workflows/kept/").status_code == 403
    assert outsider_api.delete(f"/api/v1/workflows/{workflow.id}/").status_code == 404
    assert Workflow.objects.filter(pk=workflow.pk).exists()
