"""Refold's Workflow API: /execute (async and sync) and /response, as the document shows them.

Who may reach what: keys of tenant A with the admin or workflow role may execute; any key of A
may read a response when it sends the execution's linked account; keys of tenant B get 404.
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request
import uuid

import pytest

from executions.models import Execution, ExecutionStatus, TaskRunStatus
from tests.conftest import ROOT, free_port, key_client, wait_until, worker_env
from tests.executions.factories import ExecutionFactory
from tests.workflows.factories import WorkflowFactory

pytestmark = pytest.mark.django_db

DOC_PAYLOAD = {"Task Name": "Sample task", "Created_at": "2024-2-1", "Assigned_to": "John Doe"}
DOC_RETURN_VALUE = {"success": "true", "new_note": "This is the updated note content"}
NOTE = [
    {"name": "note", "type": "set", "config": {"values": {"text": "This is the updated note content"}}},
    {"name": "respond", "type": "response", "depends_on": ["note"],
     "config": {"value": {"success": "true", "new_note": "{{ tasks.note.output.text }}"}}},
]
GROUP = [{"name": "each", "type": "group", "config": {"items": [1, 2], "tasks": [
    {"name": "double", "type": "set", "config": {"values": {"n": "{{ item * 2 }}"}}}]}}]


@pytest.fixture
def workflow(project_a):
    """The document's workflow: alias, integration slug asana, a response task."""
    return WorkflowFactory(project=project_a, tasks=NOTE, name="Update note", alias="update-note",
                           integration_slug="asana")


@pytest.fixture
def refold(tenant_a, project_a):
    """A client with a workflow-role key of tenant A sent as x-api-key."""
    return key_client(tenant_a, "workflow", header="x-api-key")


def refold_headers(linked_account="john@acme.io", slug="asana", sync: str | None = "false") -> dict:
    """Refold's headers as Django's test client passes them (linked_account_id -> HTTP_LINKED_ACCOUNT_ID)."""
    headers = {"HTTP_LINKED_ACCOUNT_ID": linked_account, "HTTP_SLUG": slug}
    if sync is not None:
        headers["HTTP_SYNC_EXECUTION"] = sync
    return {k: v for k, v in headers.items() if v is not None}


def execute(client, ref, body=None, **headers):
    return client.post(f"/api/v1/workflow/{ref}/execute", body if body is not None else {}, format="json",
                       **refold_headers(**headers))


def assert_error(response, status_code: int) -> str:
    assert response.status_code == status_code, response.content
    body = response.json()
    assert set(body) == {"statusCode", "message", "error"} and body["statusCode"] == status_code
    return body["message"]


# -- /execute --------------------------------------------------------------------------------------------
def test_it_replays_the_documents_execute_example(refold, workflow):
    response = refold.post(f"/api/v1/workflow/{workflow.id}/execute", DOC_PAYLOAD, format="json",
                           **refold_headers())
    assert response.status_code == 200
    assert list(response.json()) == ["execution_id"]
    execution = Execution.objects.get(pk=response.json()["execution_id"])
    assert (execution.workflow_id, execution.input, execution.linked_account_id, execution.retry_policy) == (
        workflow.id, DOC_PAYLOAD, "john@acme.io", "as_defined")


def test_it_executes_by_alias(refold, workflow):
    response = execute(refold, "update-note", {"a": 1})
    assert response.status_code == 200
    assert Execution.objects.get(pk=response.json()["execution_id"]).workflow_id == workflow.id


def test_it_accepts_an_empty_object_or_no_body(refold, workflow):
    assert execute(refold, workflow.alias, {}).status_code == 200
    response = refold.post(f"/api/v1/workflow/{workflow.alias}/execute", **refold_headers())
    assert response.status_code == 200
    assert Execution.objects.get(pk=response.json()["execution_id"]).input == {}


def test_it_accepts_a_bearer_key_too(workflow_api, workflow):
    assert execute(workflow_api, workflow.alias).status_code == 200


def test_it_runs_without_a_linked_account(refold, workflow):
    response = execute(refold, workflow.alias, linked_account=None)
    assert response.status_code == 200
    assert Execution.objects.get(pk=response.json()["execution_id"]).linked_account_id == ""


def test_it_refuses_a_body_that_is_not_an_object(refold, workflow):
    message = assert_error(execute(refold, workflow.alias, [1, 2]), 400)
    assert "JSON object" in message
    assert not Execution.objects.exists()


def test_it_refuses_a_slug_that_is_not_the_workflows_integration(refold, workflow):
    response = execute(refold, workflow.alias, slug="hubspot")
    assert "slug 'hubspot' is not the integration" in assert_error(response, 400)
    assert "slug" in assert_error(execute(refold, workflow.alias, slug=None), 400)
    assert not Execution.objects.exists()


def test_it_refuses_a_slug_for_a_workflow_without_integration(refold, project_a):
    WorkflowFactory(project=project_a, tasks=NOTE, alias="plain")
    assert "has no integration slug" in assert_error(execute(refold, "plain", slug="asana"), 400)
    assert execute(refold, "plain", slug=None).status_code == 200


def test_it_refuses_a_sync_execution_value_that_is_not_a_boolean(refold, workflow):
    assert "sync_execution must be true or false" in assert_error(execute(refold, workflow.alias, sync="yes"), 400)


def test_it_refuses_sync_execution_of_a_workflow_with_a_group_task(refold, project_a):
    WorkflowFactory(project=project_a, tasks=GROUP, alias="grouped", integration_slug="asana")
    response = execute(refold, "grouped", sync="true")
    assert assert_error(response, 400) == "sync_execution = true is not allowed if the workflow contains a Group Node."
    assert not Execution.objects.exists()
    assert execute(refold, "grouped", sync="false").status_code == 200


def test_it_answers_the_execution_id_with_202_when_a_sync_run_outlasts_the_wait(refold, workflow, settings):
    settings.FLOWGATE_SYNC_WAIT_DEFAULT_SECONDS = 0  # no worker runs it inside this test's transaction
    response = execute(refold, workflow.alias, sync="true")
    assert response.status_code == 202
    assert list(response.json()) == ["execution_id"]
    execution = Execution.objects.get(pk=response.json()["execution_id"])
    # A synchronous run does not wait for retries of skip_on_error nodes.
    assert (execution.status, execution.retry_policy) == (ExecutionStatus.QUEUED, "required_only")


def test_it_bounds_the_sync_wait_by_the_maximum(refold, workflow, settings, monkeypatch):
    from executions import services

    waits = []
    monkeypatch.setattr(services, "wait_for_execution", lambda id, timeout: waits.append(timeout) or
                        Execution.objects.get(pk=id))
    settings.FLOWGATE_SYNC_WAIT_DEFAULT_SECONDS, settings.FLOWGATE_MAX_SYNC_WAIT_SECONDS = 300, 7
    assert execute(refold, workflow.alias, sync="true").status_code == 202
    assert waits == [7]


@pytest.mark.django_db(transaction=True)
def test_it_answers_an_errored_sync_run_with_its_status_and_errors(tenant_a, project_a):
    # Transactional: commits happen, so the eager engine runs the execution inside the request.
    boom = [{"name": "boom", "type": "fail", "config": {"message": "no note"}}]
    WorkflowFactory(project=project_a, tasks=boom, alias="boom", integration_slug="asana")
    response = execute(key_client(tenant_a, "admin", header="x-api-key"), "boom", sync="true")
    assert response.status_code == 200
    assert response.json() == {"return_value": None, "execution_id": response.json()["execution_id"],
                               "status": "ERRORED", "errors": ["boom: no note"]}


def test_it_does_not_retry_a_skip_on_error_task_under_sync_execution(refold, project_a, tmp_path, settings,
                                                                      django_capture_on_commit_callbacks):
    settings.FLOWGATE_SYNC_WAIT_DEFAULT_SECONDS = 0
    tasks = [
        {"name": "shaky", "type": "flaky", "retries": 3, "skip_on_error": True,
         "retry_backoff": {"type": "fixed", "delay": 0},
         "config": {"counter_file": "{{ input.counter }}", "succeed_on_attempt": 2}},
        {"name": "respond", "type": "response", "depends_on": ["shaky"], "config": {"value": "done"}},
    ]
    WorkflowFactory(project=project_a, tasks=tasks, alias="shaky", integration_slug="asana")
    runs = {}
    for sync in ("true", "false"):
        with django_capture_on_commit_callbacks(execute=True):
            response = execute(refold, "shaky", {"counter": str(tmp_path / sync)}, sync=sync)
        execution = Execution.objects.get(pk=response.json()["execution_id"])
        runs[sync] = (execution.status, *execution.task_runs.filter(name="shaky").values_list("status", "attempts")[0])
    assert runs["true"] == (ExecutionStatus.SUCCEEDED, TaskRunStatus.FAILED, 1)  # not retried; dependants ran
    assert runs["false"] == (ExecutionStatus.SUCCEEDED, TaskRunStatus.SUCCEEDED, 2)  # retried once, then succeeded


def test_it_records_the_linked_account_and_the_native_api_filters_by_it(refold, admin_api, workflow):
    ids = {who: execute(refold, workflow.alias, linked_account=who).json()["execution_id"]
           for who in ("john@acme.io", "jane@acme.io")}
    response = admin_api.get("/api/v1/executions/", {"linked_account_id": "john@acme.io"})
    assert [item["id"] for item in response.json()["items"]] == [ids["john@acme.io"]]
    assert response.json()["items"][0]["linked_account_id"] == "john@acme.io"


def test_it_runs_even_for_a_linked_account_nobody_has_seen_before(refold, workflow):
    assert execute(refold, workflow.alias, linked_account=f"new-{uuid.uuid4().hex}@acme.io").status_code == 200


def test_it_answers_404_for_an_unknown_workflow_and_403_for_a_viewer(refold, viewer_api, outsider_api, workflow):
    assert "No workflow with id or alias 'no-such-alias'" in assert_error(execute(refold, "no-such-alias"), 404)
    assert_error(execute(outsider_api, workflow.alias), 404)
    assert_error(execute(viewer_api, workflow.alias), 403)
    assert not Execution.objects.exists()


def test_it_answers_401_without_a_key(client, workflow):
    response = client.post(f"/api/v1/workflow/{workflow.alias}/execute", {}, content_type="application/json",
                           **refold_headers())
    assert_error(response, 401)
    assert "x-api-key" in response["WWW-Authenticate"]
    assert_error(client.post(f"/api/v1/workflow/{workflow.alias}/execute", {}, content_type="application/json",
                             HTTP_X_API_KEY="fg_not_a_key"), 401)


def test_it_answers_409_for_a_disabled_workflow(refold, project_a):
    WorkflowFactory(project=project_a, tasks=NOTE, alias="off", integration_slug="asana", enabled=False)
    assert "disabled" in assert_error(execute(refold, "off"), 409)


def test_it_answers_an_unexpected_error_with_a_500_in_its_error_shape(refold, workflow, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr("executions.services.start_execution", broken)
    message = assert_error(execute(refold, workflow.alias), 500)
    assert message == "Internal server error. The failure was logged; retrying may help."


# -- /execute with a real worker -------------------------------------------------------------------------
@pytest.mark.e2e
@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_it_answers_the_return_value_of_a_sync_run_done_by_a_worker(live_worker, tenant_a, project_a):
    workflow = WorkflowFactory(project=project_a, tasks=NOTE, alias="update-note", integration_slug="asana")
    client = key_client(tenant_a, "workflow", header="x-api-key")
    response = client.post(f"/api/v1/workflow/{workflow.id}/execute", DOC_PAYLOAD, format="json",
                           **refold_headers(sync="true"))
    assert response.status_code == 200, response.content
    assert list(response.json()) == ["return_value", "execution_id"]
    assert response.json()["return_value"] == DOC_RETURN_VALUE
    execution = Execution.objects.get(pk=response.json()["execution_id"])
    assert (execution.status, execution.retry_policy, execution.linked_account_id) == (
        "succeeded", "required_only", "john@acme.io")

    answer = client.get(f"/api/v1/execution/{execution.id}/response", HTTP_LINKED_ACCOUNT_ID="john@acme.io")
    assert answer.json() == {"response": DOC_RETURN_VALUE, "status": "COMPLETED"}


@pytest.fixture
def gunicorn_web(transactional_db, tmp_path):
    """The web process as deployments run it: gunicorn (reading ./gunicorn.conf.py) on the test database."""
    port = free_port()
    log = open(tmp_path / "gunicorn.log", "w")
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi:application", "--bind", f"127.0.0.1:{port}",
         "--worker-class", "gthread", "--threads", "4", "--workers", "1"],
        cwd=ROOT, env=worker_env(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=2):
                return True
        except OSError:
            return process.poll() is not None and pytest.fail((tmp_path / "gunicorn.log").read_text())

    try:
        wait_until(up, timeout=60)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()


@pytest.mark.e2e
@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_it_receives_the_underscore_headers_through_gunicorn(gunicorn_web, live_worker, tenant_a, project_a):
    WorkflowFactory(project=project_a, tasks=NOTE, alias="update-note", integration_slug="asana")
    client = key_client(tenant_a, "workflow", header="x-api-key")
    request = urllib.request.Request(f"{gunicorn_web}/api/v1/workflow/update-note/execute", method="POST",
                                     data=json.dumps(DOC_PAYLOAD).encode(), headers={
                                         "content-type": "application/json", "linked_account_id": "john@acme.io",
                                         "slug": "asana", "x-api-key": client.secret, "sync_execution": "true"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            status_code, body = response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        pytest.fail(f"{error.code}: {error.read()!r}")
    assert (status_code, body["return_value"]) == (200, DOC_RETURN_VALUE)
    assert Execution.objects.get(pk=body["execution_id"]).linked_account_id == "john@acme.io"


# -- /response -------------------------------------------------------------------------------------------
def test_it_replays_the_documents_response_example(refold, workflow):
    execution = ExecutionFactory(workflow=workflow, linked_account_id="john@acme.io", run=True)
    response = refold.get(f"/api/v1/execution/{execution.id}/response", HTTP_LINKED_ACCOUNT_ID="john@acme.io")
    assert response.status_code == 200
    assert response.json() == {"response": DOC_RETURN_VALUE, "status": "COMPLETED"}


def test_it_answers_running_for_an_unfinished_execution(refold, workflow):
    execution = ExecutionFactory(workflow=workflow, linked_account_id="john@acme.io")
    response = refold.get(f"/api/v1/execution/{execution.id}/response", HTTP_LINKED_ACCOUNT_ID="john@acme.io")
    assert response.json() == {"response": None, "status": "RUNNING"}


def test_it_answers_errored_for_a_failed_execution(refold, project_a):
    failing = WorkflowFactory(project=project_a, tasks=[
        {"name": "boom", "type": "fail", "config": {"message": "no"}}])
    execution = ExecutionFactory(workflow=failing, linked_account_id="john@acme.io", run=True)
    response = refold.get(f"/api/v1/execution/{execution.id}/response", HTTP_LINKED_ACCOUNT_ID="john@acme.io")
    assert response.json() == {"response": None, "status": "ERRORED"}


def test_it_lets_any_role_of_the_tenant_read_a_response(viewer_api, workflow):
    execution = ExecutionFactory(workflow=workflow, linked_account_id="john@acme.io")
    response = viewer_api.get(f"/api/v1/execution/{execution.id}/response", HTTP_LINKED_ACCOUNT_ID="john@acme.io")
    assert response.status_code == 200


def test_it_answers_404_for_another_linked_account_tenant_or_a_malformed_id(refold, outsider_api, workflow):
    execution = ExecutionFactory(workflow=workflow, linked_account_id="john@acme.io")
    url = f"/api/v1/execution/{execution.id}/response"
    response = refold.get(url, HTTP_LINKED_ACCOUNT_ID="jane@acme.io")
    assert "send the linked_account_id header" in assert_error(response, 404)
    assert_error(refold.get(url), 404)
    assert_error(outsider_api.get(url, HTTP_LINKED_ACCOUNT_ID="john@acme.io"), 404)
    assert_error(refold.get("/api/v1/execution/66e404464f475f36c0c95b5d/response",
                            HTTP_LINKED_ACCOUNT_ID="john@acme.io"), 404)


def test_it_answers_the_response_in_a_constant_number_of_queries(refold, workflow, django_assert_num_queries):
    execution = ExecutionFactory(workflow=workflow, linked_account_id="john@acme.io")
    url = f"/api/v1/execution/{execution.id}/response"
    refold.get(url, HTTP_LINKED_ACCOUNT_ID="john@acme.io")  # writes the key's last-used time once
    with django_assert_num_queries(2):  # the key, the execution
        assert refold.get(url, HTTP_LINKED_ACCOUNT_ID="john@acme.io").status_code == 200


def test_it_documents_both_endpoints_in_the_openapi_schema(admin_api):
    schema = admin_api.get("/api/schema/", {"format": "json"}).json()
    assert "post" in schema["paths"]["/api/v1/workflow/{workflow_id}/execute"]
    assert "get" in schema["paths"]["/api/v1/execution/{execution_id}/response"]
    headers = {p["name"] for p in schema["paths"]["/api/v1/workflow/{workflow_id}/execute"]["post"]["parameters"]
               if p["in"] == "header"}
    assert headers == {"linked_account_id", "slug", "sync_execution"}
