"""The operators' admin pages for executions."""

import pytest

from executions.engine import LogBuffer
from executions.models import ExecutionStatus
from tests.executions.factories import ExecutionFactory
from tests.workflows.factories import WorkflowFactory

pytestmark = pytest.mark.django_db


LOG = [{"name": "a", "type": "log", "config": {"message": "x"}}]


def test_the_execution_pages_render(admin_client, project_a):
    execution = ExecutionFactory(workflow=WorkflowFactory(project=project_a, tasks=LOG))
    assert admin_client.get("/admin/executions/execution/").status_code == 200
    page = admin_client.get(f"/admin/executions/execution/{execution.id}/change/")
    assert page.status_code == 200 and b"a" in page.content
    assert admin_client.get("/admin/executions/log/").status_code == 200
    assert admin_client.get("/admin/executions/taskrun/").status_code == 200


def test_the_cancel_action_cancels_through_the_service(admin_client, project_a):
    execution = ExecutionFactory(workflow=WorkflowFactory(project=project_a, tasks=LOG))
    response = admin_client.post("/admin/executions/execution/", {"action": "cancel_executions",
                                                                  "_selected_action": [str(execution.id)]})
    assert response.status_code == 302
    execution.refresh_from_db()
    assert execution.status == ExecutionStatus.CANCELLED


def test_engine_rows_cannot_be_added_or_edited_by_hand(admin_client, project_a):
    execution = ExecutionFactory(workflow=WorkflowFactory(project=project_a, tasks=LOG))
    for model in ("execution", "taskrun", "log"):
        assert admin_client.get(f"/admin/executions/{model}/add/").status_code == 403
    page = admin_client.get(f"/admin/executions/execution/{execution.id}/change/")
    assert page.status_code == 200 and b'name="_save"' not in page.content
    assert admin_client.post(f"/admin/executions/execution/{execution.id}/change/", {}).status_code == 403


def test_the_log_list_costs_the_same_queries_for_many_executions(admin_client, project_a, django_assert_max_num_queries):
    workflow = WorkflowFactory(project=project_a, tasks=LOG)
    for _ in range(15):
        buffer = LogBuffer(ExecutionFactory(workflow=workflow).id)
        buffer.add("info", "hello")
        buffer.flush()
    with django_assert_max_num_queries(8):
        assert admin_client.get("/admin/executions/log/").status_code == 200
