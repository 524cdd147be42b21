"""Cursor pagination of GET /api/v1/flow-runs: forward, backward, refetch, and its query count."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest

from flowruns.models import FlowRun
from tests.accounts.factories import key_caller
from tests.flowruns.factories import T0, make_runs

pytestmark = pytest.mark.django_db

RUNS = 250


def ordered_runs(tenant, count: int) -> list[str]:
    """``count`` runs, three sharing each creation time (the id breaks the ties), in list order."""
    make_runs(key_caller(tenant), count, per_instant=3)
    return list(FlowRun.objects.order_by("-created_at", "-id").values_list("run_id", flat=True))


@pytest.fixture
def runs(tenant_a):
    return ordered_runs(tenant_a, RUNS)


@pytest.fixture
def few_runs(tenant_a):
    return ordered_runs(tenant_a, 45)


def walk(client, cursor_key: str, limit: int, first_cursor: str | None = None) -> list[dict]:
    """Follow ``cursor_key`` from the first page (or ``first_cursor``) until it is null."""
    pages = []
    params = {"limit": limit, **({"cursor": first_cursor} if first_cursor else {})}
    while True:
        body = client.get("/api/v1/flow-runs", params).json()
        pages.append(body)
        assert body["total"] == RUNS
        assert len(pages) <= RUNS, "the walk does not end"
        if body[cursor_key] is None:
            return pages
        params = {"limit": limit, "cursor": body[cursor_key]}


def ids(page: dict) -> list[str]:
    return [item["id"] for item in page["items"]]


@pytest.mark.parametrize("limit", [20, 7])
def test_it_visits_every_run_once_going_forward(admin_api, runs, limit):
    pages = walk(admin_api, "next_page", limit)

    assert [run for page in pages for run in ids(page)] == runs
    assert len(pages) == -(-RUNS // limit)
    assert pages[0]["previous_page"] is None
    assert all(page["previous_page"] for page in pages[1:])
    assert all(len(ids(page)) == limit for page in pages[:-1])


@pytest.mark.parametrize("limit", [20, 7])
def test_it_walks_back_over_the_same_pages(admin_api, runs, limit):
    forward = walk(admin_api, "next_page", limit)

    backward = walk(admin_api, "previous_page", limit, first_cursor=forward[-1]["current_page"])

    assert [ids(page) for page in backward] == [ids(page) for page in reversed(forward)]
    assert backward[-1]["previous_page"] is None
    assert all(page["next_page"] for page in backward[1:])


@pytest.mark.parametrize("limit", [20, 7])
def test_it_refetches_each_page_from_either_end(admin_api, runs, limit):
    for page in walk(admin_api, "next_page", limit):
        again = admin_api.get("/api/v1/flow-runs", {"limit": limit, "cursor": page["current_page"]}).json()
        backwards = admin_api.get("/api/v1/flow-runs",
                                  {"limit": limit, "cursor": page["current_page_backwards"]}).json()

        assert ids(again) == ids(page)
        assert ids(backwards) == ids(page)
        assert again["next_page"] == page["next_page"] and again["previous_page"] == page["previous_page"]
        assert (backwards["next_page"] is None) == (page["next_page"] is None)
        assert (backwards["previous_page"] is None) == (page["previous_page"] is None)


def test_it_keeps_a_page_while_newer_runs_arrive(tenant_a, admin_api, few_runs):
    runs = few_runs
    second = admin_api.get("/api/v1/flow-runs", {"limit": 20, "cursor": walk_to(admin_api, 2)}).json()
    make_runs(key_caller(tenant_a, name="late"), 5, start=T0 + timedelta(days=1), prefix="late")

    again = admin_api.get("/api/v1/flow-runs", {"limit": 20, "cursor": second["current_page"]}).json()
    following = admin_api.get("/api/v1/flow-runs", {"limit": 20, "cursor": second["next_page"]}).json()

    assert ids(again) == ids(second)
    assert ids(following) == runs[40:45]
    assert again["total"] == len(runs) + 5


def walk_to(client, page_number: int) -> str:
    body = client.get("/api/v1/flow-runs", {"limit": 20}).json()
    for _ in range(page_number - 1):
        body = client.get("/api/v1/flow-runs", {"limit": 20, "cursor": body["next_page"]}).json()
    return body["current_page"]


def test_it_answers_an_empty_list(admin_api):
    body = admin_api.get("/api/v1/flow-runs").json()

    assert body == {"items": [], "total": 0, "current_page": None, "current_page_backwards": None,
                    "previous_page": None, "next_page": None}


def test_it_leads_back_from_a_page_emptied_by_deletes(admin_api, few_runs):
    first = admin_api.get("/api/v1/flow-runs", {"limit": 40}).json()
    last = admin_api.get("/api/v1/flow-runs", {"limit": 40, "cursor": first["next_page"]}).json()
    for run_id in ids(last):
        admin_api.delete(f"/api/v1/flow-runs/{run_id}")

    emptied = admin_api.get("/api/v1/flow-runs", {"limit": 40, "cursor": first["next_page"]}).json()
    back = admin_api.get("/api/v1/flow-runs", {"limit": 40, "cursor": emptied["previous_page"]}).json()

    assert emptied["items"] == [] and emptied["next_page"] is None
    assert ids(back) == ids(first)


def cursor(mode: str, values) -> str:
    raw = json.dumps({"m": mode, "v": values}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize("bad", [
    cursor("after", ["not a time", 1]),
    cursor("after", [{"t": "2025-01-20T18:00:00+00:00"}, "not a number"]),
    cursor("before", [{"t": "2025-01-20T18:00:00+00:00"}, [1]]),
    cursor("after", [{"t": "2025-01-20T18:00:00+00:00"}]),
    cursor("sideways", [{"t": "2025-01-20T18:00:00+00:00"}, 1]),
    "%%%",
])
def test_it_refuses_a_forged_cursor_with_422(admin_api, bad):
    response = admin_api.get("/api/v1/flow-runs", {"cursor": bad})

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "cursor"]


@pytest.mark.parametrize("limit", [2, 20])
def test_it_lists_in_constant_queries_whatever_the_page_size(admin_api, few_runs, django_assert_max_num_queries,
                                                             limit):
    first = admin_api.get("/api/v1/flow-runs", {"limit": limit}).json()  # also marks the key as used
    # 1. the API key (with its tenant)
    # 2. COUNT of the caller's runs that pass the filters
    # 3. the page (one more row than asked, to know whether a next page exists)
    # 4. EXISTS: is there a run before the page (only with a cursor)
    with django_assert_max_num_queries(4):
        page = admin_api.get("/api/v1/flow-runs", {"limit": limit, "cursor": first["next_page"]}).json()
    assert len(page["items"]) == limit
    with django_assert_max_num_queries(4):
        admin_api.get("/api/v1/flow-runs", {"limit": limit, "flowId": "deploy", "tag": ["a:b", "c"],
                                            "createdAfter": "2020-01-01T00:00:00Z"})
