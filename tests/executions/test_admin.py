"""The admin_clients' admin pages for executions."""

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from executions.engine import LogBuffer
from executions.models import ExecutionStatus, RetentionRule
from flowruns import services as flow_runs
from tests.accounts.factories import key_caller
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


@pytest.mark.parametrize("path", [
    "/admin/executions/execution/", "/admin/executions/execution/?status__exact=queued",
    "/admin/executions/taskrun/", "/admin/executions/taskrun/?task_type=log",
    "/admin/executions/taskrun/?status__exact=pending", "/admin/executions/log/?level__exact=info",
    "/admin/approvals/approval/", "/admin/flowruns/flowrun/?phase=queued", "/admin/executions/retentionrule/",
])
def test_every_changelist_costs_the_same_queries_for_many_rows(admin_client, project_a, django_assert_max_num_queries,
                                                               path):
    workflow = WorkflowFactory(project=project_a, tasks=[{"name": "a", "type": "log", "config": {"message": "x"}},
                                         {"name": "b", "type": "log", "config": {"message": "y"}}])
    reporter = key_caller(project_a.tenant)
    for _ in range(30):
        ExecutionFactory(workflow=workflow)
        flow_runs.create_flow_run(reporter, flow_id="deploy", run_id=f"run-{uuid.uuid4().hex[:8]}")
    # session, user, the filters' choices (tenants, projects), the count (capped, or the table's
    # estimate), the page with the relations its columns print
    with django_assert_max_num_queries(8):
        assert admin_client.get(path).status_code == 200


def test_no_changelist_reads_every_row_for_its_filters_or_dates(admin_client, project_a):
    ExecutionFactory(workflow=WorkflowFactory(project=project_a, tasks=[
        {"name": "a", "type": "log", "config": {"message": "x"}}]))
    for path in ("/admin/executions/execution/", "/admin/executions/taskrun/", "/admin/executions/log/",
                 "/admin/approvals/approval/", "/admin/flowruns/flowrun/"):
        with CaptureQueriesContext(connection) as captured:
            assert admin_client.get(path).status_code == 200
        statements = " ".join(query["sql"] for query in captured.captured_queries)
        assert "DISTINCT" not in statements, path  # no SELECT DISTINCT filter choices, no date_hierarchy


def test_the_task_type_filter_offers_the_registered_types(admin_client, project_a):
    page = admin_client.get("/admin/executions/taskrun/")
    assert b"?task_type=approval" in page.content and b"?task_type=http" in page.content


def test_an_id_finds_its_rows_through_the_search(admin_client, project_a):
    execution = ExecutionFactory(workflow=WorkflowFactory(project=project_a, tasks=[
        {"name": "a", "type": "log", "config": {"message": "x"}}]))
    for path in ("/admin/executions/execution/", "/admin/executions/taskrun/", "/admin/executions/log/"):
        page = admin_client.get(path, {"q": str(execution.id)})
        assert page.status_code == 200 and len(page.context["cl"].result_list) >= 1, path


def test_a_retention_rule_is_saved_through_the_service(admin_client, tenant_a, project_a):
    response = admin_client.post("/admin/executions/retentionrule/add/", {"tenant": tenant_a.pk, "keep_days": 30})

    assert response.status_code == 302
    assert RetentionRule.objects.get(tenant=tenant_a, workflow=None).keep_days == 30


def test_a_retention_rule_refuses_another_tenants_workflow(admin_client, tenant_a, project_b):
    workflow = WorkflowFactory(project=project_b, tasks=[{"name": "a", "type": "log", "config": {"message": "x"}}])
    response = admin_client.post("/admin/executions/retentionrule/add/",
                             {"tenant": tenant_a.pk, "workflow": workflow.pk, "keep_days": 30})
    assert response.status_code == 200 and b"Pick a workflow of" in response.content
