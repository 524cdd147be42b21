"""A schedule's admin page lists its newest executions, and links to every one of them."""

from __future__ import annotations

import pytest

from schedules.admin import NEWEST_EXECUTIONS
from tests.executions.factories import ExecutionFactory
from tests.schedules.factories import ScheduledExecutionFactory, ScheduleFactory
from tests.workflows.factories import WorkflowFactory

pytestmark = pytest.mark.django_db

LOG = [{"name": "a", "type": "log", "config": {"message": "x"}}]


@pytest.fixture
def schedule(project_a):
    return ScheduleFactory(workflow=WorkflowFactory(project=project_a, tasks=LOG))


def test_the_schedule_page_lists_only_its_newest_executions(admin_client, schedule):
    started = [ScheduledExecutionFactory(schedule=schedule) for _ in range(NEWEST_EXECUTIONS + 5)]

    page = admin_client.get(f"/admin/schedules/schedule/{schedule.pk}/change/")

    assert page.status_code == 200
    shown = page.content.decode()
    newest, oldest = started[-NEWEST_EXECUTIONS:], started[:-NEWEST_EXECUTIONS]
    assert all(str(execution.id) in shown for execution in newest)
    assert not any(str(execution.id) in shown for execution in oldest)
    assert f"/admin/executions/execution/?schedule={schedule.pk}" in shown


def test_the_schedule_page_costs_the_same_queries_for_many_executions(admin_client, schedule,
                                                                      django_assert_max_num_queries):
    for _ in range(NEWEST_EXECUTIONS + 10):
        ScheduledExecutionFactory(schedule=schedule)
    # session, user, the schedule, its workflow (the form's choices), the newest links with their
    # executions, and a few of the admin's own (log entries, the form's choices)
    with django_assert_max_num_queries(10):
        assert admin_client.get(f"/admin/schedules/schedule/{schedule.pk}/change/").status_code == 200


def test_the_schedule_page_still_saves(admin_client, schedule):
    for _ in range(NEWEST_EXECUTIONS + 2):
        ScheduledExecutionFactory(schedule=schedule)
    data = {"name": "hourly", "cron": "0 * * * *", "timezone": "UTC", "input": "{}", "enabled": "on",
            "overlap_policy": schedule.overlap_policy, "catchup_policy": schedule.catchup_policy,
            "execution_links-TOTAL_FORMS": str(NEWEST_EXECUTIONS), "execution_links-INITIAL_FORMS": str(NEWEST_EXECUTIONS),
            "execution_links-MIN_NUM_FORMS": "0", "execution_links-MAX_NUM_FORMS": "1000"}
    links = list(schedule.execution_links.order_by("-due_at").values_list("execution_id", flat=True))
    for n, execution_id in enumerate(links[:NEWEST_EXECUTIONS]):
        data[f"execution_links-{n}-execution"] = str(execution_id)
    response = admin_client.post(f"/admin/schedules/schedule/{schedule.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    schedule.refresh_from_db()
    assert schedule.name == "hourly"


def test_the_executions_list_filters_by_schedule(admin_client, schedule, project_a):
    started = {ScheduledExecutionFactory(schedule=schedule).id for _ in range(3)}
    ExecutionFactory(workflow=schedule.workflow)  # started by hand

    page = admin_client.get("/admin/executions/execution/", {"schedule": str(schedule.pk)})

    assert page.status_code == 200
    assert {execution.id for execution in page.context["cl"].result_list} == started
    # Not an id: the admin's "invalid lookup" answer, not a database error.
    assert admin_client.get("/admin/executions/execution/", {"schedule": "nope"}).status_code == 302
