"""Hostile input across the surfaces: values the database cannot store, lookups smuggled into filters,
numbers out of range, another tenant's paths.

Each test sends what a careless or hostile client might and expects a refusal in the surface's
documented shape (the test client checks it), never a 500, a hang or a leak.
"""

from __future__ import annotations

import json

import pytest

from config.middleware import NUL_IN_QUERY
from executions.models import Execution, ExecutionStatus
from records import services as record_services
from tests.executions.factories import ExecutionFactory
from tests.records.factories import BoardFactory, FieldFactory
from tests.workflows.factories import WorkflowFactory

pytestmark = pytest.mark.django_db


# -- values the database cannot store ------------------------------------------------------------------------
@pytest.fixture
def board(project_a):
    board = BoardFactory(project=project_a)
    FieldFactory(workflow=board.workflow, name="Amount", type="number")
    return board


def _bodies(board):
    wf = board.workflow.id
    return [
        ("/api/v1/executions/", '{"workflow": "abc123", "input": {"a": "x\\u0000y"}}', 400),
        ("/api/v1/executions/", '{"workflow": "abc123", "input": {"\\u0000": 1}}', 400),
        (f"/api/v1/workflows/{wf}/executions", '{"input": {"a": "\\u0000"}}', 400),
        (f"/workflows/{wf}/executions", json.dumps({"workflowId": str(wf), "input": {"a": "\x00"}}), 400),
        (f"/api/v1/workflow/{wf}/execute", '{"a": "\\u0000"}', 400),
        (f"/api/v1/workflow/{wf}/execute", '{"a": 1e400}', 400),
        (f"/api/v1/workflows/{wf}/tasks/", '{"fields": {"Amount": 1e400}}', 400),
        (f"/api/v1/workflows/{wf}/tasks/", '{"checklist": ["\\u0000"]}', 400),
        ("/api/v1/workflows/", '{"name": "x", "definition": {"tasks": [{"name": "a", "type": "log", '
                               '"config": {"message": "\\u0000"}}]}}', 400),
        ("/api/v1/actions/", '{"name": "x", "steps": {"tasks": [{"name": "a", "type": "log", '
                             '"config": {"message": "\\u0000"}}]}}', 400),
        ("/api/v1/flow-runs", '{"flowId": "a", "args": {"a": 1e400}}', 422),
        ("/api/v1/flow-runs", '{"flowId": "a", "args": {"a": "\\u0000"}}', 422),
        ("/api/v1/executions/", '{"workflow": "abc123", "input": ' + "[" * 100000 + "]" * 100000 + "}", 400),
        # Lone surrogates: valid JSON escapes, but no text a database column stores.
        ("/api/v1/executions/", '{"workflow": "abc123", "input": {"a": "\\ud800"}}', 400),
        ("/api/v1/executions/", '{"workflow": "abc123", "input": {"\\udfff": 1}}', 400),
        (f"/api/v1/workflow/{wf}/execute", '{"a": "x\\ud800y"}', 400),
        (f"/api/v1/workflow/{wf}/execute", '{"\\udc00": 1}', 400),
        (f"/api/v1/workflows/{wf}/executions", '{"input": {"a": "\\ud800"}}', 400),
        (f"/workflows/{wf}/executions", '{"workflowId": "' + str(wf) + '", "input": {"a": "\\ud800"}}', 400),
        ("/api/v1/workflows/", '{"name": "\\ud800", "definition": {"tasks": []}}', 400),
        (f"/api/v1/workflows/{wf}/tasks/", '{"checklist": ["\\ud800"]}', 400),
        ("/api/v1/flow-runs", '{"flowId": "a", "args": {"a": "\\ud800"}}', 422),
    ]


def test_it_refuses_nul_characters_surrogates_infinities_and_deep_nesting_in_json_bodies(board, admin_api):
    for path, body, expected in _bodies(board):
        response = admin_api.post(path, data=body, content_type="application/json")
        assert response.status_code == expected, (path, body[:80], response.status_code, response.content[:200])
    assert not Execution.objects.exists()


@pytest.mark.parametrize("body", ["fields.Name=a%00b", "checklist=a%00b"])
def test_it_refuses_nul_characters_in_form_bodies(board, admin_api, body):
    response = admin_api.post("/api/v1/workflows/abc123/tasks/", data=body,
                              content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400, response.content[:200]


@pytest.mark.parametrize("path, status", [
    ("/api/v1/workflows/%00/", 404),
    ("/api/v1/flow-runs/a%00", 404),
    ("/api/v1/workflows/abc123/tasks/?stage=%00", 400),
    ("/api/v1/workflows/abc123/tasks/?field=Name:%00", 400),
    ("/api/v1/actions/?name=%00", 400),
    ("/api/v1/flow-runs?flowId=%00", 422),  # Port's answer to a bad query parameter
])
def test_it_answers_nul_characters_in_paths_and_queries_in_each_surfaces_shape(board, admin_api, path, status):
    # The client checks the body against the operation's documented answer for that status.
    response = admin_api.get(path)
    assert response.status_code == status, response.content[:200]


def test_it_answers_nul_characters_in_a_refold_path_with_refolds_404(board, admin_api):
    response = admin_api.post("/api/v1/workflow/a%00/execute", {}, format="json")
    assert response.status_code == 404
    assert response.json()["statusCode"] == 404


def test_it_names_the_query_parameter_that_holds_a_nul_character(board, admin_api):
    response = admin_api.get("/api/v1/actions/?name=%00")
    assert response.json()["errors"] == [{"field": "name", "message": NUL_IN_QUERY}]


def test_it_refuses_nul_characters_in_a_pages_query_with_a_plain_400(client):
    response = client.get("/approvals/?show=%00")
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")


# -- filters -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("query", ["tag=isnull:x", "tag=a__regex:(", "tag=team__isnull:x"])
def test_a_tag_key_is_never_taken_for_a_lookup(project_a, admin_api, query):
    WorkflowFactory(project=project_a, tasks=[], tags={"team": "ops"})
    for path in ("/api/v1/workflows/", "/api/v1/executions/"):
        response = admin_api.get(f"{path}?{query}")
        assert response.status_code == 200, (path, response.content[:200])
        assert response.json()["total"] == 0


def test_the_tag_filter_still_matches(project_a, admin_api):
    WorkflowFactory(project=project_a, tasks=[], tags={"team": "ops", "tier": 1})
    assert admin_api.get("/api/v1/workflows/?tag=team:ops").json()["total"] == 1
    assert admin_api.get("/api/v1/workflows/?tag=team:dev").json()["total"] == 0


@pytest.mark.parametrize("value", ["1e400", "nan", "-inf"])
def test_a_number_field_filter_with_a_non_finite_number_answers(board, admin_api, value):
    response = admin_api.get(f"/api/v1/workflows/abc123/tasks/?field=Amount:{value}")
    assert response.status_code == 200 and response.json()["total"] == 0


def test_a_field_named_like_a_lookup_can_be_filtered(board, admin_api):
    FieldFactory(workflow=board.workflow, name="contains")
    record_services.update_record(board.record, fields={"contains": "gold"})
    response = admin_api.get("/api/v1/workflows/abc123/tasks/?field=contains:gold")
    assert response.status_code == 200 and response.json()["total"] == 1


# -- numbers out of range ----------------------------------------------------------------------------------
def test_a_task_number_beyond_the_database_range_is_refused(board, admin_api):
    response = admin_api.post("/api/v1/workflows/abc123/tasks/", {"unique_id": 2**31}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "unique_id"


def test_a_flowsynx_page_far_past_the_end_is_empty(project_a, admin_api):
    wf = WorkflowFactory(project=project_a, tasks=[])
    for page in ("99999999999999999999", str(2**62)):
        response = admin_api.get(f"/workflows/{wf.id}/executions?page={page}")
        assert response.status_code == 200 and response.json()["data"] == []


# -- another tenant's workflow answers 404 before the body is looked at -------------------------------------
@pytest.mark.parametrize("part", ["stages/", "fields/", "tasks/"])
def test_writing_under_another_tenants_workflow_answers_404(board, outsider_api, part):
    response = outsider_api.post(f"/api/v1/workflows/{board.workflow.id}/{part}", {"unique_id": 0}, format="json")
    assert response.status_code == 404


# -- templates over their budget -----------------------------------------------------------------------------
HUGE_REPLACE = "(('a'*10000)|replace('a','a'*10000))|length"  # 10**8 characters


def test_a_set_task_whose_template_exceeds_the_budget_fails_with_a_clear_error(project_a):
    workflow = WorkflowFactory(project=project_a, tasks=[
        {"name": "grow", "type": "set", "config": {"values": {"n": "{{ " + HUGE_REPLACE + " }}"}}}])
    execution = ExecutionFactory(workflow=workflow, run=True)
    assert execution.status == ExecutionStatus.FAILED
    message = execution.task_runs.get().message
    assert "replace would hold 100000000 characters" in message and "FLOWGATE_TEMPLATE_MAX_LENGTH" in message


HUGE_JOIN = "range(100000)|join('b'*99999)|length"  # 10**10 characters


@pytest.mark.parametrize("expression, says", [
    (HUGE_REPLACE, "could not be evaluated"),
    (HUGE_JOIN, "join would hold 9999800002 characters"),  # refused before it joins
], ids=["replace", "join"])
def test_a_flowdash_condition_that_exceeds_the_budget_answers_422_saying_so(project_a, workflow_api, expression,
                                                                            says):
    BoardFactory(project=project_a, requirements={"conditions": [
        {"expression": expression + " > 0", "message": "Never shown"}]})
    response = workflow_api.post("/api/v1/workflows/abc123/executions",
                                 {"task_id": "678", "action_id": "edHR10", "performed_by": "harry@hogwarts.edu"},
                                 format="json")
    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert says in error and "FLOWGATE_TEMPLATE_MAX_LENGTH" in error
    assert not Execution.objects.exists()


def test_a_surrogate_pair_is_text_and_is_kept(board, admin_api):
    response = admin_api.post("/api/v1/executions/", data='{"workflow": "abc123", "input": {"a": "\\ud83d\\ude00"}}',
                              content_type="application/json")
    assert response.status_code == 201, response.content[:200]
    assert Execution.objects.get().input == {"a": "\U0001F600"}


# -- Port's lists of objects take no null items --------------------------------------------------------------
@pytest.mark.parametrize("method, path, body, loc", [
    ("post", "/api/v1/flow-runs", {"flowId": "x", "tags": [None]}, ["body", "tags", 0]),
    ("post", "/api/v1/flow-runs", {"flowId": "x", "tags": [{"key": "a", "value": "b"}, None]}, ["body", "tags", 1]),
    ("put", "/api/v1/flow-runs/run-1", {"flowId": "x", "flowType": "automation", "actions": [None]},
     ["body", "actions", 0]),
    ("put", "/api/v1/flow-runs/run-1", {"flowId": "x", "flowType": "automation", "logs": [None]},
     ["body", "logs", 0]),
])
def test_a_null_item_in_a_port_list_answers_422_naming_it(project_a, admin_api, method, path, body, loc):
    response = getattr(admin_api, method)(path, body, format="json")
    assert response.status_code == 422, response.content[:300]
    assert {"loc": loc, "msg": "none is not an allowed value", "type": "type_error.none.not_allowed"} \
        in response.json()["detail"]


# -- OPTIONS ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", [
    "/api/v1/flow-runs", "/api/v1/flow-runs/run-1", "/api/v1/executions/", "/api/v1/workflows/",
    "/api/v1/actions/", "/api/v1/workflows/abc123/tasks/", "/api/v1/workflows/abc123/executions",
    "/api/v1/workflow/abc123/execute", "/workflows/{wf}/executions", "/api/ping/ping",
])
def test_options_answers_405_on_every_surface(board, admin_api, path):
    response = admin_api.options(path.format(wf=board.workflow.id))
    assert response.status_code == 405, response.content[:300]


# -- date-times the database cannot store ----------------------------------------------------------------------
@pytest.mark.parametrize("query", [
    "created_after=2020-01-01T00:00:00%2B16:11", "created_before=2020-01-01T00:00:00-16:11",
    "ended_after=0001-01-01T00:00:00%2B01:00", "ended_before=9999-12-31T23:59:59-01:00",
])
def test_a_date_time_filter_out_of_range_answers_400(project_a, admin_api, query):
    response = admin_api.get(f"/api/v1/executions/?{query}")
    assert response.status_code == 400, response.content[:300]
    assert response.json()["errors"][0]["field"] == query.partition("=")[0]


def test_a_date_time_filter_with_an_offset_compares_in_utc(project_a, admin_api):
    ExecutionFactory(workflow=WorkflowFactory(project=project_a, tasks=[]))
    assert admin_api.get("/api/v1/executions/?created_after=2000-01-01T00:00:00%2B14:00").json()["total"] == 1
    assert admin_api.get("/api/v1/executions/?created_before=2000-01-01T00:00:00-12:00").json()["total"] == 0


@pytest.mark.parametrize("method, path, body", [
    ("get", "/api/v1/flow-runs?createdAfter=2020-01-01T00:00:00%2B16:11", None),
    ("get", "/api/v1/flow-runs?createdBefore=0001-01-01T00:00:00%2B01:00", None),
    ("put", "/api/v1/flow-runs/run-1", {"flowId": "x", "flowType": "automation",
                                        "startTime": "2020-01-01T00:00:00+16:11"}),
])
def test_a_port_date_time_out_of_range_answers_422(project_a, admin_api, method, path, body):
    response = admin_api.get(path) if body is None else admin_api.put(path, body, format="json")
    assert response.status_code == 422, response.content[:300]


# -- filter values that name nothing ----------------------------------------------------------------------------
@pytest.mark.parametrize("path", [
    "/api/v1/executions/?status=bogus",
    "/api/v1/executions/?status=queued,bogus",
    "/api/v1/approvals/?status=bogus",
    "/api/v1/workflows/abc123/tasks/?stage=Bogus",
    "/api/v1/webhook-deliveries/?status=bogus",
    "/api/v1/executions/{execution}/logs/?level=bogus",
    "/api/v1/schedules/?enabled=bogus",
    "/api/v1/webhooks/?enabled=bogus",
    "/api/v1/workflows/?enabled=bogus",
    "/api/v1/actions/?enabled=bogus",
])
def test_an_unknown_filter_value_answers_400_instead_of_an_empty_list(board, admin_api, path):
    execution = ExecutionFactory(workflow=board.workflow)
    response = admin_api.get(path.format(execution=execution.id))
    assert response.status_code == 400, response.content[:300]
    parameter = path.partition("?")[2].partition("=")[0]
    assert [problem["field"] for problem in response.json()["errors"]] == [parameter]


@pytest.mark.parametrize("path", [
    "/api/v1/flow-runs?phase=bogus", "/api/v1/flow-runs?flowType=bogus",
])
def test_an_unknown_port_filter_value_answers_422(project_a, admin_api, path):
    assert admin_api.get(path).status_code == 422


def test_known_filter_values_still_filter(board, admin_api):
    ExecutionFactory(workflow=board.workflow)
    assert admin_api.get("/api/v1/executions/?status=queued,running").json()["total"] == 1
    assert admin_api.get("/api/v1/executions/?status=failed").json()["total"] == 0
    assert admin_api.get("/api/v1/workflows/abc123/tasks/?stage=New").status_code == 200


# -- headers -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("key", ["a\x01b", "a\x7fb", "line\nbreak", "\x00"])
@pytest.mark.parametrize("path, body", [
    ("/api/v1/executions/", {"workflow": "abc123"}),
    ("/api/v1/workflows/abc123/executions", {"task_id": "678", "action_id": "edHR10",
                                             "performed_by": "harry@hogwarts.edu"}),
])
def test_an_idempotency_key_with_a_control_character_answers_400(board, admin_api, key, path, body):
    response = admin_api.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert response.status_code == 400, response.content[:300]
    assert "control characters" in response.content.decode()
    assert not Execution.objects.exists()
