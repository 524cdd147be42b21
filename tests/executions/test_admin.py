"""The operators' admin pages for executions."""

import pytest

from executions.models import ExecutionStatus
from executions.services import start_execution
from tests.executions.factories import make_workflow

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator(client, django_user_model):
    user = django_user_model.objects.create_superuser("root", "root@example.com", "pw")
    client.force_login(user)
    return client


def test_the_execution_pages_render(operator, project_a):
    execution, _ = start_execution(caller=None, workflow=make_workflow(project_a, [
        {"name": "a", "type": "log", "config": {"message": "x"}}]))
    assert operator.get("/admin/executions/execution/").status_code == 200
    page = operator.get(f"/admin/executions/execution/{execution.id}/change/")
    assert page.status_code == 200 and b"a" in page.content
    assert operator.get("/admin/executions/log/").status_code == 200
    assert operator.get("/admin/executions/taskrun/").status_code == 200


def test_the_cancel_action_cancels_through_the_service(operator, project_a):
    execution, _ = start_execution(caller=None, workflow=make_workflow(project_a, [
        {"name": "a", "type": "log", "config": {"message": "x"}}]))
    response = operator.post("/admin/executions/execution/", {"action": "cancel_executions",
                                                              "_selected_action": [str(execution.id)]})
    assert response.status_code == 302
    execution.refresh_from_db()
    assert execution.status == ExecutionStatus.CANCELLED


def test_engine_rows_cannot_be_added_or_edited_by_hand(operator, project_a):
    execution, _ = start_execution(caller=None, workflow=make_workflow(project_a, [
        {"name": "a", "type": "log", "config": {"message": "x"}}]))
    for model in ("execution", "taskrun", "log"):
        assert operator.get(f"/admin/executions/{model}/add/").status_code == 403
    page = operator.get(f"/admin/executions/execution/{execution.id}/change/")
    assert page.status_code == 200 and b'name="_save"' not in page.content
    assert operator.post(f"/admin/executions/execution/{execution.id}/change/", {}).status_code == 403


def test_the_log_list_costs_the_same_queries_for_many_executions(operator, project_a, django_assert_max_num_queries):
    workflow = make_workflow(project_a, [{"name": "a", "type": "log", "config": {"message": "x"}}])
    for _ in range(15):
        execution, _ = start_execution(caller=None, workflow=workflow)
        execution.logs.create(level="info", message="hello")
    with django_assert_max_num_queries(8):
        assert operator.get("/admin/executions/log/").status_code == 200
