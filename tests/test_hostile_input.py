"""Security and robustness regressions across the surfaces: tenancy, templates, SSRF, malformed input.

Every test here names a way in that used to answer a 500, hang, leak or reach too far.
"""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from accounts.models import Role
from config.middleware import NUL_IN_QUERY
from executions.executors import PrivateAddressRefused, check_public_host
from executions.models import Execution, ExecutionStatus, TaskRunStatus
from executions.services import clamp_wait
from records import actions as action_services
from records import services as record_services
from records.models import Action
from tests.accounts.factories import ProjectFactory
from tests.conftest import key_client
from tests.executions.factories import ExecutionFactory
from tests.records.factories import ActionFactory, BoardFactory, FieldFactory
from tests.support.clients import APIClient
from tests.workflows.factories import WorkflowFactory
from workflows.templating import TemplateError, evaluate

pytestmark = pytest.mark.django_db


# -- templates -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("expression, context", [
    ("x ** y", {"x": 9, "y": 10**6}),  # a number of millions of digits: minutes of CPU for bigger ones
    ("'a' * n", {"n": 10**7}),  # a string of any size
    ("[0] * n", {"n": 10**7}),
])
def test_it_refuses_template_arithmetic_that_would_exhaust_the_server(expression, context):
    with pytest.raises(TemplateError, match="not allowed"):
        evaluate(expression, context)


def test_small_powers_and_repetitions_still_work():
    assert evaluate("2 ** 10", {}) == 1024
    assert evaluate("'ab' * 3", {}) == "ababab"
    assert evaluate("x ** 0.5", {"x": 16}) == 4.0


def test_a_requirement_condition_with_a_huge_power_is_not_met(tenant_a, project_a, admin_api):
    """Conditions are compiled when saved and run in the web process; a constant power used to be computed."""
    response = admin_api.post("/api/v1/actions/", {
        "name": "Slow", "steps": {"tasks": [{"name": "a", "type": "log", "config": {"message": "m"}}]},
        "requirements": {"conditions": [{"expression": "2 ** 100000 > 1", "message": "Too big"}]},
    }, format="json")
    assert response.status_code == 201, response.content
    action = Action.objects.get(pk=response.json()["id"])
    assert action_services.check_requirements(action, None) == ["Too big"]


# -- SSRF ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("host", ["100.100.100.200", "100.64.0.1", "2002:a00:1::1"])
def test_it_refuses_shared_and_embedded_private_addresses(host):
    with pytest.raises(PrivateAddressRefused):
        check_public_host(host)


class _Answer(BaseHTTPRequestHandler):
    body = b'{"ok": true}'

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args):
        pass


@pytest.fixture
def local_server():
    servers = []

    def start(body: bytes = b'{"ok": true}') -> int:
        handler = type("Handler", (_Answer,), {"body": body})
        server = HTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server.server_address[1]

    yield start
    for server in servers:
        server.shutdown()


def test_it_refuses_a_name_that_resolves_public_then_private(project_a, local_server, monkeypatch):
    """DNS rebinding: the check saw a public address, the connection must not reach loopback."""
    port = local_server()
    real = socket.getaddrinfo
    calls = []

    def rebinding(host, *args, **kwargs):
        if host != "rebind.example":
            return real(host, *args, **kwargs)
        calls.append(host)
        address = "93.184.216.34" if len(calls) == 1 else "127.0.0.1"
        return real(address, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    wf = WorkflowFactory(project=project_a, tasks=[
        {"name": "call", "type": "http", "config": {"url": f"http://rebind.example:{port}/"}}])
    execution = ExecutionFactory(workflow=wf, run=True)
    run = execution.task_runs.get()
    assert run.status == TaskRunStatus.FAILED
    assert "127.0.0.1" in run.message and run.output is None


def test_allowed_private_targets_still_work(project_a, settings, local_server):
    settings.FLOWGATE_HTTP_ALLOW_PRIVATE = True
    wf = WorkflowFactory(project=project_a, tasks=[
        {"name": "call", "type": "http", "config": {"url": f"http://127.0.0.1:{local_server()}/"}}])
    execution = ExecutionFactory(workflow=wf, run=True)
    assert execution.task_runs.get().output["body"] == {"ok": True}


# -- CSRF on a GET that starts work ---------------------------------------------------------------------
def test_mindzie_execute_is_not_reachable_with_a_browser_session(tenant_a, project_a, alice):
    """Execute Action is a GET; a session cookie (sent on a top-level cross-site link) must not start it."""
    action = ActionFactory(project=project_a, name="Report", steps={
        "tasks": [{"name": "build", "type": "set", "config": {"values": {"rows": 3}}}]})
    browser = APIClient()
    browser.force_login(alice)
    response = browser.get(f"/api/{tenant_a.id}/{project_a.id}/action/execute/{action.id}")
    assert response.status_code == 401
    assert not Execution.objects.exists()
    # Reading with a session still works.
    assert browser.get(f"/api/{tenant_a.id}/{project_a.id}/action/{action.id}").status_code == 200


# -- waits -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("raw", ["nan", "NaN"])
def test_a_wait_that_is_not_a_number_of_seconds_is_refused(raw):
    with pytest.raises(ValueError):
        clamp_wait(raw)


def test_an_infinite_wait_is_bounded(settings):
    assert clamp_wait("inf") == settings.FLOWGATE_MAX_SYNC_WAIT_SECONDS


# -- bodies the database cannot store -------------------------------------------------------------------------
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


def test_a_number_field_refuses_infinity_from_a_task(board):
    definition = record_services.FieldDefinition.objects.get(workflow=board.workflow, name="Amount")
    _, problems = record_services.clean_fields(board.workflow, {"Amount": float("inf")}, [definition])
    assert problems == {"Amount": ["inf is not a valid number"]}


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


# -- idempotency across projects ---------------------------------------------------------------------------
def test_an_idempotency_key_replays_only_the_same_workflow(tenant_a, project_a):
    """Two projects with the same alias: the second project's key must not get the first one's execution."""
    other = ProjectFactory(tenant=tenant_a, name="Other")
    WorkflowFactory(project=project_a, tasks=[], alias="deploy")
    WorkflowFactory(project=other, tasks=[], alias="deploy")
    first = key_client(tenant_a, Role.WORKFLOW, project=project_a)
    second = key_client(tenant_a, Role.WORKFLOW, project=other)
    assert first.post("/api/v1/executions/", {"workflow": "deploy"}, format="json",
                      HTTP_IDEMPOTENCY_KEY="abc").status_code == 201
    response = second.post("/api/v1/executions/", {"workflow": "deploy"}, format="json", HTTP_IDEMPOTENCY_KEY="abc")
    assert response.status_code == 422
    assert Execution.objects.count() == 1


# -- another tenant's workflow answers 404 before the body is looked at -------------------------------------
@pytest.mark.parametrize("part", ["stages/", "fields/", "tasks/"])
def test_writing_under_another_tenants_workflow_answers_404(board, outsider_api, part):
    response = outsider_api.post(f"/api/v1/workflows/{board.workflow.id}/{part}", {"unique_id": 0}, format="json")
    assert response.status_code == 404


# -- task outputs the database cannot store ------------------------------------------------------------------
@pytest.mark.parametrize("task", [
    {"name": "t", "type": "set", "config": {"values": {"x": "{{ '\\x00' }}"}}},
    {"name": "t", "type": "set", "config": {"values": {"x": "{{ (input.big | float) * 10 }}"}}},
    {"name": "t", "type": "log", "config": {"message": "a{{ '\\x00' }}b"}},
    {"name": "t", "type": "fail", "config": {"message": "a{{ '\\x00' }}b"}},
    {"name": "t", "type": "response", "config": {"value": {"name": "{{ '\\x00' }}"}}},
])
def test_an_unstorable_value_fails_the_task_instead_of_the_worker(project_a, task):
    wf = WorkflowFactory(project=project_a, tasks=[task])
    execution = ExecutionFactory(workflow=wf, input={"big": "1e308"}, run=True)
    assert execution.status == ExecutionStatus.FAILED
    assert execution.task_runs.get().status == TaskRunStatus.FAILED


def test_an_http_answer_with_nul_characters_fails_the_task(project_a, settings, local_server):
    settings.FLOWGATE_HTTP_ALLOW_PRIVATE = True
    port = local_server(b'{"name": "a\\u0000b"}')
    wf = WorkflowFactory(project=project_a, tasks=[
        {"name": "call", "type": "http", "config": {"url": f"http://127.0.0.1:{port}/"}}])
    execution = ExecutionFactory(workflow=wf, run=True)
    run = execution.task_runs.get()
    assert (execution.status, run.status) == (ExecutionStatus.FAILED, TaskRunStatus.FAILED)
    assert "cannot be stored" in run.message


@pytest.mark.parametrize("backoff", [{"delay": 1e300}, {"type": "exponential", "delay": 1e200}])
def test_a_huge_retry_delay_does_not_crash_the_worker(project_a, tmp_path, backoff):
    wf = WorkflowFactory(project=project_a, tasks=[
        {"name": "t", "type": "flaky", "retries": 2, "retry_backoff": backoff,
         "config": {"counter_file": str(tmp_path / "count"), "succeed_on_attempt": 2}}])
    execution = ExecutionFactory(workflow=wf, run=True)
    run = execution.task_runs.get()
    assert (execution.status, run.status, run.attempts) == (ExecutionStatus.RUNNING, TaskRunStatus.PENDING, 1)
    assert run.not_before is not None


def test_a_viewer_gets_no_replay_of_an_action_execution(tenant_a, project_a, workflow_api, viewer_api):
    board = BoardFactory(project=project_a)
    body = {"task_id": "678", "action_id": "edHR10"}
    path = f"/api/v1/workflows/{board.workflow.id}/executions"
    assert workflow_api.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY="k1").status_code == 201
    response = viewer_api.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert response.status_code == 403


def test_it_refuses_nul_characters_in_a_pages_query_with_a_plain_400(client):
    response = client.get("/approvals/?show=%00")
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")
