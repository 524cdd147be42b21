"""422 answers in FastAPI's shape: ``{"detail": [{"loc", "msg", "type"}]}``, one entry per problem."""

from __future__ import annotations

import pytest

from flowruns.models import FlowRun

pytestmark = pytest.mark.django_db

REGEX = 'string does not match regex "^([a-z0-9_.-]+)$"'
ENUM = ("value is not a valid enumeration member; permitted: 'automation', 'selfServiceAction', 'scorecard', "
        "'reference'")
PHASES = ("value is not a valid enumeration member; permitted: 'queued', 'pending', 'running', 'waiting', "
          "'success', 'failure', 'skipped', 'cancelled'")


def problems(response) -> list[dict]:
    assert response.status_code == 422, response.content
    assert set(response.json()) == {"detail"}
    for entry in response.json()["detail"]:
        assert set(entry) == {"loc", "msg", "type"}
    return response.json()["detail"]


def test_it_reports_a_missing_flow_id(admin_api):
    response = admin_api.post("/api/v1/flow-runs", {}, format="json")

    assert problems(response) == [{"loc": ["body", "flowId"], "msg": "field required", "type": "value_error.missing"}]


@pytest.mark.parametrize("bad", ["UPPER", "has space", "slash/y", "", "ünï", "trailing\n"])
def test_it_holds_ids_to_the_pattern(admin_api, bad):
    create = admin_api.post("/api/v1/flow-runs", {"id": bad, "flowId": bad}, format="json")
    upsert = admin_api.put("/api/v1/flow-runs/ok", {"flowId": bad, "flowType": "automation"}, format="json")

    assert problems(create) == [
        {"loc": ["body", "id"], "msg": REGEX, "type": "value_error.str.regex"},
        {"loc": ["body", "flowId"], "msg": REGEX, "type": "value_error.str.regex"},
    ]
    assert problems(upsert) == [{"loc": ["body", "flowId"], "msg": REGEX, "type": "value_error.str.regex"}]
    assert not FlowRun.objects.exists()


def test_it_holds_the_path_id_to_the_pattern(admin_api):
    response = admin_api.put("/api/v1/flow-runs/Bad.ID", {"flowId": "d", "flowType": "automation"}, format="json")

    assert problems(response) == [{"loc": ["path", "id_"], "msg": REGEX, "type": "value_error.str.regex"}]


def test_it_reports_an_unknown_flow_type(admin_api):
    response = admin_api.post("/api/v1/flow-runs", {"flowId": "d", "flowType": "Automation"}, format="json")

    assert problems(response) == [{"loc": ["body", "flowType"], "msg": ENUM, "type": "type_error.enum"}]


def test_it_requires_the_flow_type_in_an_upsert(admin_api):
    response = admin_api.put("/api/v1/flow-runs/x", {"flowId": "d"}, format="json")

    assert problems(response) == [{"loc": ["body", "flowType"], "msg": "field required",
                                   "type": "value_error.missing"}]


def test_it_reports_every_problem_at_once(admin_api):
    body = {
        "id": "Bad Id",
        "flowId": "UPPER",
        "flowType": "nope",
        "args": [1],
        "tags": [{"key": "ok", "value": "ok"}, {"key": 1}],
    }

    assert problems(admin_api.post("/api/v1/flow-runs", body, format="json")) == [
        {"loc": ["body", "id"], "msg": REGEX, "type": "value_error.str.regex"},
        {"loc": ["body", "flowId"], "msg": REGEX, "type": "value_error.str.regex"},
        {"loc": ["body", "flowType"], "msg": ENUM, "type": "type_error.enum"},
        {"loc": ["body", "args"], "msg": "value is not a valid dict", "type": "type_error.dict"},
        {"loc": ["body", "tags", 1, "key"], "msg": "str type expected", "type": "type_error.str"},
        {"loc": ["body", "tags", 1, "value"], "msg": "field required", "type": "value_error.missing"},
    ]


def test_it_reports_every_problem_of_an_upsert_with_its_path(admin_api):
    body = {
        "flowId": None,
        "phase": "done",
        "startTime": "yesterday",
        "actions": [{"id": "a", "phase": "running"}, {"phase": "nope", "endTime": 5}],
        "logs": [{"level": "fatal"}, "not an object"],
        "tags": {"env": "prod"},
    }

    assert problems(admin_api.put("/api/v1/flow-runs/UP", body, format="json")) == [
        {"loc": ["path", "id_"], "msg": REGEX, "type": "value_error.str.regex"},
        {"loc": ["body", "flowId"], "msg": "none is not an allowed value", "type": "type_error.none.not_allowed"},
        {"loc": ["body", "flowType"], "msg": "field required", "type": "value_error.missing"},
        {"loc": ["body", "phase"], "msg": PHASES, "type": "type_error.enum"},
        {"loc": ["body", "startTime"], "msg": "invalid datetime format", "type": "value_error.datetime"},
        {"loc": ["body", "actions", 1, "id"], "msg": "field required", "type": "value_error.missing"},
        {"loc": ["body", "actions", 1, "phase"], "msg": PHASES, "type": "type_error.enum"},
        {"loc": ["body", "actions", 1, "endTime"], "msg": "invalid datetime format", "type": "value_error.datetime"},
        {"loc": ["body", "logs", 0, "message"], "msg": "field required", "type": "value_error.missing"},
        {"loc": ["body", "logs", 0, "level"], "msg": ("value is not a valid enumeration member; permitted: "
                                                      "'debug', 'info', 'warning', 'error'"),
         "type": "type_error.enum"},
        {"loc": ["body", "logs", 1], "msg": "value is not a valid dict", "type": "type_error.dict"},
        {"loc": ["body", "tags"], "msg": "value is not a valid list", "type": "type_error.list"},
    ]


def test_it_reports_a_body_that_is_not_an_object(admin_api):
    response = admin_api.post("/api/v1/flow-runs", [1, 2], format="json")

    assert problems(response) == [{"loc": ["body"], "msg": "value is not a valid dict", "type": "type_error.dict"}]


def test_it_reports_a_body_that_is_not_json(admin_api):
    response = admin_api.post("/api/v1/flow-runs", "{nope", content_type="application/json")

    [problem] = problems(response)
    assert problem["loc"] == ["body"] and problem["type"] == "value_error.jsondecode"


def test_it_bounds_lengths(admin_api):
    body = {"flowId": "a" * 201, "flowType": "automation", "logs": [{"message": "x"}] * 1001}

    assert problems(admin_api.put("/api/v1/flow-runs/x", body, format="json")) == [
        {"loc": ["body", "flowId"], "msg": "ensure this value has at most 200 characters",
         "type": "value_error.any_str.max_length"},
        {"loc": ["body", "logs"], "msg": "ensure this value has at most 1000 items",
         "type": "value_error.list.max_items"},
    ]


@pytest.mark.parametrize("params, loc, type_", [
    ({"flowType": "x"}, ["query", "flowType"], "type_error.enum"),
    ({"phase": "x"}, ["query", "phase"], "type_error.enum"),
    ({"createdAfter": "soon"}, ["query", "createdAfter"], "value_error.datetime"),
    ({"createdBefore": "later"}, ["query", "createdBefore"], "value_error.datetime"),
    ({"limit": "0"}, ["query", "limit"], "value_error"),
    ({"limit": "ten"}, ["query", "limit"], "value_error"),
    ({"cursor": "garbage"}, ["query", "cursor"], "value_error"),
    ({"tag": ["env:prod"] * 21}, ["query", "tag"], "value_error.list.max_items"),
])
def test_it_reports_bad_query_parameters(admin_api, params, loc, type_):
    [problem] = problems(admin_api.get("/api/v1/flow-runs", params))

    assert problem["loc"] == loc and problem["type"] == type_
