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
    ]


def test_it_refuses_nul_characters_infinities_and_deep_nesting_in_json_bodies(board, admin_api):
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


def test_a_flowdash_condition_that_exceeds_the_budget_answers_422_saying_so(project_a, workflow_api):
    BoardFactory(project=project_a, requirements={"conditions": [
        {"expression": HUGE_REPLACE + " > 0", "message": "Never shown"}]})
    response = workflow_api.post("/api/v1/workflows/abc123/executions",
                                 {"task_id": "678", "action_id": "edHR10", "performed_by": "harry@hogwarts.edu"},
                                 format="json")
    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert "could not be evaluated" in error and "FLOWGATE_TEMPLATE_MAX_LENGTH" in error
    assert not Execution.objects.exists()
