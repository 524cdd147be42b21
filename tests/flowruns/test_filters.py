"""The list's filters: flowId, flowType, phase, tag and the creation range, combined with AND."""

from __future__ import annotations

from datetime import timedelta

import pytest

from flowruns import services
from tests.accounts.factories import key_caller
from tests.flowruns.factories import T0, FlowRunFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def runs(tenant_a, tenant_b):
    """Five runs of tenant A, one a day from T0, and one of tenant B that matches every filter."""
    caller = key_caller(tenant_a)
    specs = [
        ("a1", "deploy", "automation", "running", [{"key": "env", "value": "prod"}, {"key": "team", "value": "core"}]),
        ("a2", "deploy", "selfServiceAction", "success", [{"key": "env", "value": "staging"}]),
        ("a3", "backup", "automation", "success", [{"key": "env", "value": "prod"}]),
        ("a4", "backup", "scorecard", None, [{"key": "team", "value": "core:infra"}]),
        ("a5", "deploy", "reference", "failure", []),
    ]
    for day, (run_id, flow_id, flow_type, phase, tags) in enumerate(specs):
        FlowRunFactory(caller=caller, run_id=run_id, flow_id=flow_id, flow_type=flow_type, phase=phase, tags=tags,
                       created_at=T0 + timedelta(days=day))
    FlowRunFactory(caller=key_caller(tenant_b), run_id="b1", flow_id="deploy", flow_type="automation",
                   phase="running", tags=[{"key": "env", "value": "prod"}, {"key": "team", "value": "core"}])


def found(client, **params) -> list[str]:
    body = client.get("/api/v1/flow-runs", params).json()
    assert body["total"] == len(body["items"])
    return sorted(item["id"] for item in body["items"])


@pytest.mark.parametrize("params, expected", [
    ({}, ["a1", "a2", "a3", "a4", "a5"]),
    ({"flowId": "deploy"}, ["a1", "a2", "a5"]),
    ({"flowId": "nothing"}, []),
    ({"flowType": "automation"}, ["a1", "a3"]),
    ({"phase": "success"}, ["a2", "a3"]),
    ({"tag": "env:prod"}, ["a1", "a3"]),
    ({"tag": "env"}, ["a1", "a2", "a3"]),
    ({"tag": "team:core:infra"}, ["a4"]),  # the value may hold a colon; the key may not
    ({"tag": ["env:prod", "team:core"]}, ["a1"]),
    ({"tag": "env:Prod"}, []),
    ({"createdAfter": "2025-01-21T18:00:00Z"}, ["a2", "a3", "a4", "a5"]),
    ({"createdBefore": "2025-01-21T18:00:00Z"}, ["a1"]),
    ({"createdAfter": "2025-01-21T00:00:00Z", "createdBefore": "2025-01-23T18:00:00Z"}, ["a2", "a3"]),
    ({"flowId": "deploy", "phase": "failure", "flowType": "reference"}, ["a5"]),
])
def test_it_filters(admin_api, runs, params, expected):
    assert found(admin_api, **params) == expected


def test_it_pages_through_filtered_runs(admin_api, runs):
    first = admin_api.get("/api/v1/flow-runs", {"flowId": "deploy", "limit": 2}).json()
    second = admin_api.get("/api/v1/flow-runs", {"flowId": "deploy", "limit": 2, "cursor": first["next_page"]}).json()

    assert [i["id"] for i in first["items"]] == ["a5", "a2"]
    assert [i["id"] for i in second["items"]] == ["a1"]
    assert first["total"] == second["total"] == 3 and second["next_page"] is None


def test_it_rewrites_the_tag_index_on_replace(tenant_a, admin_api, runs):
    services.upsert_flow_run(key_caller(tenant_a, name="x"), "a1", {
        "flow_id": "deploy", "flow_type": "automation", "tags": [{"key": "env", "value": "dev"}]})

    assert found(admin_api, tag="env:prod") == ["a3"]
    assert found(admin_api, tag="env:dev") == ["a1"]
