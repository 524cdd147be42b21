"""/api/v1/schedules/: tenant- and role-scoped, clear 400s, and the executions show their schedule."""

from datetime import UTC, datetime

import pytest
import time_machine

from schedules import services
from tests.workflows.factories import WorkflowFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2030, 6, 3, 9, 0, 10, tzinfo=UTC)


@pytest.fixture
def workflow(project_a):
    return WorkflowFactory(project=project_a, tasks=[{"name": "answer", "type": "response", "config": {"value": 1}}], alias="nightly")


def create(client, **body):
    return client.post("/api/v1/schedules/", {"workflow": "nightly", "cron": "0 3 * * *", **body}, format="json")


def test_a_workflow_user_creates_a_schedule_by_workflow_alias(workflow_api, workflow):
    with time_machine.travel(NOW, tick=False):
        response = create(workflow_api, timezone="Europe/Berlin", input={"full": True}, name="nightly report")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["workflow"], body["workflow_name"], body["timezone"]) == (str(workflow.id), workflow.name, "Europe/Berlin")
    assert (body["overlap_policy"], body["catchup_policy"], body["enabled"]) == ("skip", "none", True)
    assert body["next_run_at"] == "2030-06-04T01:00:00Z"  # 03:00 in Berlin (summer time)
    assert body["project"] == str(workflow.project_id)


@pytest.mark.parametrize(("body", "field"), [
    ({"cron": "every day"}, "cron"),
    ({"cron": "0 0 30 2 *"}, "cron"),
    ({"timezone": "Europe/Atlantis"}, "timezone"),
    ({"workflow": "missing"}, "workflow"),
    ({"overlap_policy": "queue"}, "overlap_policy"),
    ({"input": [1, 2]}, "input"),
])
def test_it_answers_400_naming_the_field(admin_api, workflow, body, field):
    response = create(admin_api, **body)
    assert response.status_code == 400, response.json()
    assert [error["field"] for error in response.json()["errors"]] == [field]


def test_viewers_read_but_may_not_write(viewer_api, admin_api, workflow):
    assert create(viewer_api).status_code == 403
    schedule_id = create(admin_api).json()["id"]
    assert viewer_api.get(f"/api/v1/schedules/{schedule_id}/").status_code == 200
    assert viewer_api.delete(f"/api/v1/schedules/{schedule_id}/").status_code == 403


def test_another_tenant_s_schedule_answers_404(outsider_api, admin_api, workflow):
    schedule_id = create(admin_api).json()["id"]
    assert outsider_api.get(f"/api/v1/schedules/{schedule_id}/").status_code == 404
    assert outsider_api.patch(f"/api/v1/schedules/{schedule_id}/", {"enabled": False}, format="json").status_code == 404
    assert outsider_api.get("/api/v1/schedules/").json()["items"] == []
    # Nor may an outsider name A's workflow.
    assert create(outsider_api, workflow=str(workflow.id)).status_code == 400


def test_changing_the_expression_plans_the_next_run_again(admin_api, workflow):
    with time_machine.travel(NOW, tick=False):
        schedule_id = create(admin_api).json()["id"]
        response = admin_api.patch(f"/api/v1/schedules/{schedule_id}", {"cron": "*/15 * * * *"}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["next_run_at"] == "2030-06-03T09:15:00Z"
    disabled = admin_api.patch(f"/api/v1/schedules/{schedule_id}", {"enabled": False}, format="json").json()
    assert disabled["next_run_at"] is None


def test_a_schedule_stays_on_its_workflow(admin_api, workflow, project_a):
    other = WorkflowFactory(project=project_a, tasks=[{"name": "x", "type": "log", "config": {"message": "x"}}])
    schedule_id = create(admin_api).json()["id"]
    response = admin_api.patch(f"/api/v1/schedules/{schedule_id}", {"workflow": str(other.id)}, format="json")
    assert response.status_code == 400


def test_the_executions_show_their_schedule(admin_api, workflow, django_capture_on_commit_callbacks):
    with time_machine.travel(NOW, tick=False) as clock:
        schedule = services.create_schedule(workflow=workflow, cron="* * * * *")
        clock.move_to(datetime(2030, 6, 3, 9, 1, 5, tzinfo=UTC))
        with django_capture_on_commit_callbacks(execute=True):
            services.fire_schedule(schedule.id)
    listed = admin_api.get(f"/api/v1/executions/?schedule={schedule.id}").json()["items"]
    assert [row["schedule"] for row in listed] == [str(schedule.id)]
    detail = admin_api.get(f"/api/v1/executions/{listed[0]['id']}/").json()
    assert detail["schedule"] == str(schedule.id)
    response = admin_api.get(f"/api/v1/schedules/{schedule.id}/executions/")
    assert [row["id"] for row in response.json()["items"]] == [listed[0]["id"]]


@pytest.mark.parametrize("count", [2, 20])
def test_the_list_costs_the_same_queries_whatever_its_size(admin_api, workflow, count, django_assert_max_num_queries):
    for _ in range(count):
        services.create_schedule(workflow=workflow, cron="0 * * * *")
    # key look-up, key last_used_at (first use), COUNT, page with the workflow joined
    with django_assert_max_num_queries(4):
        response = admin_api.get("/api/v1/schedules/?limit=50")
    assert response.json()["total"] == count
