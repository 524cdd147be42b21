"""Totals that cost the same at a million rows: native lists cap theirs, admin changelists estimate."""

from __future__ import annotations

import pytest

from config import counting
from tests.executions.factories import ExecutionFactory
from tests.workflows.factories import WorkflowFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def workflow(project_a):
    return WorkflowFactory(project=project_a, tasks=[{"name": "a", "type": "log", "config": {"message": "x"}}])


@pytest.fixture
def cap_of_three(monkeypatch):
    monkeypatch.setattr(counting, "COUNT_CAP", 3)


@pytest.mark.parametrize("count, total, capped", [(2, 2, False), (3, 3, False), (5, 3, True)])
def test_a_native_total_is_exact_up_to_the_cap_and_says_when_there_are_more(admin_api, workflow, cap_of_three,
                                                                            count, total, capped):
    for _ in range(count):
        ExecutionFactory(workflow=workflow)

    response = admin_api.get("/api/v1/executions/", {"limit": 2})

    body = response.json()
    assert (body["total"], body["total_capped"], len(body["items"])) == (total, capped, 2)
    assert (body["next_page"] is not None) == (count > 2)


def test_the_cap_applies_to_filtered_lists_and_every_page_is_reachable(admin_api, workflow, cap_of_three):
    ids = [str(ExecutionFactory(workflow=workflow).id) for _ in range(7)]
    seen, cursor = [], None
    while True:
        body = admin_api.get("/api/v1/executions/", {"limit": 2, "status": "queued",
                                                     **({"cursor": cursor} if cursor else {})}).json()
        assert (body["total"], body["total_capped"]) == (3, True)
        seen += [item["id"] for item in body["items"]]
        cursor = body["next_page"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(ids)


def test_ports_total_stays_exact_past_the_cap(admin_api, cap_of_three):
    for n in range(5):
        assert admin_api.post("/api/v1/flow-runs", {"flowId": "deploy", "id": f"run-{n}"},
                              format="json").status_code == 201
    body = admin_api.get("/api/v1/flow-runs", {"flowId": "deploy"}).json()
    assert body["total"] == 5 and "total_capped" not in body


def test_an_unfiltered_changelist_shows_the_tables_estimate(admin_client, workflow, monkeypatch):
    ExecutionFactory(workflow=workflow)
    monkeypatch.setattr("config.counting.estimated_rows", lambda model: 1_234_567)

    page = admin_client.get("/admin/executions/execution/")

    assert page.status_code == 200 and b"about 1234567 executions" in page.content
    assert page.context["cl"].paginator.count_estimated


def test_a_filtered_changelist_counts_up_to_the_cap(admin_client, workflow, cap_of_three):
    for _ in range(5):
        ExecutionFactory(workflow=workflow)

    page = admin_client.get("/admin/executions/execution/", {"status__exact": "queued"})

    assert page.status_code == 200 and b"more than 3 executions" in page.content


def test_a_small_table_is_counted_exactly_without_a_cap(admin_client, workflow):
    ExecutionFactory(workflow=workflow)
    page = admin_client.get("/admin/executions/execution/")
    assert b"1 execution" in page.content and b"about" not in page.content and b"more than" not in page.content
