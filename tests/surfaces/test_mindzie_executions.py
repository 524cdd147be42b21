"""The action-execution calls of mindzie's Python client: by id, by action (newest first, paged), the
last one, the package, the pings; and routes whose fixed words are never read as ids."""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Role
from executions.models import Execution, ExecutionStatus
from records.api import mindzie
from records.api import urls as records_urls
from records.models import ActionExecution
from tests.accounts.factories import ProjectFactory
from tests.conftest import key_client
from tests.records.factories import ActionFactory
from tests.support.clients import APIClient
from tests.support.openapi import generate_document

pytestmark = pytest.mark.django_db

EXECUTION_KEYS = {"actionId", "actionExecutionId", "dateStarted", "dateEnded", "status", "notes"}
STEPS = {"tasks": [
    {"name": "extract", "type": "set", "config": {"values": {"rows": 42}}},
    {"name": "note", "type": "log", "depends_on": ["extract"],
     "config": {"message": "Rebuilt from {{ tasks.extract.output.rows }} rows"}},
]}


@pytest.fixture
def report(project_a):
    return ActionFactory(project=project_a, name="Refresh report", steps=STEPS)


@pytest.fixture
def broken(project_a):
    return ActionFactory(project=project_a, name="Broken", steps={"tasks": [
        {"name": "check", "type": "fail", "config": {"message": "Source data is missing for January"}}]})


@pytest.fixture
def base(tenant_a, project_a) -> str:
    return f"/api/{tenant_a.id}/{project_a.id}"


@pytest.fixture
def run(base, workflow_api, django_capture_on_commit_callbacks):
    """``run(action)``: execute it and let the eager worker finish it; answers the execution id."""

    def execute(action) -> str:
        with django_capture_on_commit_callbacks(execute=True):
            response = workflow_api.get(f"{base}/action/execute/{action.id}")
        assert response.status_code == 200, response.json()
        return response.json()["actionExecutionId"]

    return execute


def queue(base, client, action) -> str:
    """Execute without running: the execution stays Queued."""
    return client.get(f"{base}/action/execute/{action.id}").json()["actionExecutionId"]


def age(execution_ids: list[str]) -> None:
    """Make the executions' creation times strictly ordered, oldest first, whatever the clock did
    (on the execution and on its link to the action, which carries a copy)."""
    start = timezone.now() - timedelta(hours=1)
    for minutes, execution_id in enumerate(execution_ids):
        Execution.objects.filter(pk=execution_id).update(created_at=start + timedelta(minutes=minutes))
        ActionExecution.objects.filter(pk=execution_id).update(created_at=start + timedelta(minutes=minutes))


# -- by id ------------------------------------------------------------------------------------------------
def test_get_by_id_answers_the_execution_shape(base, report, run, workflow_api, django_assert_max_num_queries):
    execution_id = run(report)
    # A client polls this. Queries: the API key, its last-used stamp, the project, the execution
    # (with its action link).
    with django_assert_max_num_queries(4):
        response = workflow_api.get(f"{base}/actionexecution/{execution_id}")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == EXECUTION_KEYS
    assert (body["actionId"], body["actionExecutionId"], body["status"], body["notes"]) == (
        str(report.id), execution_id, "Completed", None)
    assert body["dateEnded"] is not None
    # The older path answers the same.
    alias = workflow_api.get(f"{base}/action/execution/{execution_id}")
    assert alias.json() == body


def test_get_by_id_answers_404_for_an_unknown_or_foreign_execution(base, report, run, workflow_api, outsider_api,
                                                                  tenant_b, project_b):
    execution_id = run(report)
    for raw in (str(uuid.uuid4()), "not-a-guid"):
        response = workflow_api.get(f"{base}/actionexecution/{raw}")
        assert response.status_code == 404
        assert response.json() == {"error": "Action execution not found", "actionExecutionId": raw}
    response = outsider_api.get(f"/api/{tenant_b.id}/{project_b.id}/actionexecution/{execution_id}")
    assert response.json() == {"error": "Action execution not found", "actionExecutionId": execution_id}


# -- by action ----------------------------------------------------------------------------------------------
def test_get_by_action_lists_its_executions_newest_first(base, report, broken, run, workflow_api):
    first, second = run(report), run(report)
    failed = run(broken)
    third = queue(base, workflow_api, report)
    age([first, second, failed, third])
    response = workflow_api.get(f"{base}/actionexecution/action/{report.id}")
    assert response.status_code == 200
    body = response.json()
    assert (body["actionId"], body["totalCount"], body["page"], body["pageSize"]) == (str(report.id), 3, 1, 50)
    assert [e["actionExecutionId"] for e in body["executions"]] == [third, second, first]
    assert [e["status"] for e in body["executions"]] == ["Queued", "Completed", "Completed"]
    assert all(set(e) == EXECUTION_KEYS for e in body["executions"])
    failures = workflow_api.get(f"{base}/actionexecution/action/{broken.id}").json()["executions"]
    assert [(e["status"], e["notes"]) for e in failures] == [("Failed", "Source data is missing for January")]


def test_get_by_action_pages_with_page_and_page_size(base, report, workflow_api):
    ids = [queue(base, workflow_api, report) for _ in range(5)]
    age(ids)
    newest_first = ids[::-1]
    page = workflow_api.get(f"{base}/actionexecution/action/{report.id}?page=2&pageSize=2").json()
    assert (page["totalCount"], page["page"], page["pageSize"]) == (5, 2, 2)
    assert [e["actionExecutionId"] for e in page["executions"]] == newest_first[2:4]
    last = workflow_api.get(f"{base}/actionexecution/action/{report.id}?page=3&pageSize=2").json()
    assert [e["actionExecutionId"] for e in last["executions"]] == newest_first[4:]
    beyond = workflow_api.get(f"{base}/actionexecution/action/{report.id}?page=999999999999&pageSize=1000").json()
    assert (beyond["executions"], beyond["totalCount"], beyond["totalCountCapped"]) == ([], 5, False)


def test_get_by_action_counts_up_to_the_cap_and_still_answers_the_pages_past_it(base, report, workflow_api,
                                                                                 monkeypatch):
    from config import counting

    ids = [queue(base, workflow_api, report) for _ in range(5)]
    age(ids)
    monkeypatch.setattr(counting, "COUNT_CAP", 3)
    page = workflow_api.get(f"{base}/actionexecution/action/{report.id}?page=2&pageSize=2").json()
    assert (page["totalCount"], page["totalCountCapped"]) == (3, True)
    assert [e["actionExecutionId"] for e in page["executions"]] == ids[::-1][2:4]
    last = workflow_api.get(f"{base}/actionexecution/action/{report.id}?page=3&pageSize=2").json()
    assert [e["actionExecutionId"] for e in last["executions"]] == ids[:1]
    monkeypatch.setattr(counting, "COUNT_CAP", 5)
    exact = workflow_api.get(f"{base}/actionexecution/action/{report.id}").json()
    assert (exact["totalCount"], exact["totalCountCapped"], len(exact["executions"])) == (5, False, 5)


@pytest.mark.parametrize("query", ["page=0", "pageSize=0", "pageSize=1001", "page=x", "pageSize=-3"])
def test_get_by_action_refuses_a_bad_page_in_mindzies_shape(base, report, workflow_api, query):
    response = workflow_api.get(f"{base}/actionexecution/action/{report.id}?{query}")
    assert response.status_code == 400
    assert set(response.json()) == {"error"}
    assert "must be a whole number from 1" in response.json()["error"]


def test_get_by_action_answers_an_empty_page_for_an_action_never_run(base, report, workflow_api):
    body = workflow_api.get(f"{base}/actionexecution/action/{report.id}").json()
    assert (body["executions"], body["totalCount"]) == ([], 0)


def test_get_by_action_answers_404_for_an_unknown_action(base, workflow_api):
    missing = str(uuid.uuid4())
    response = workflow_api.get(f"{base}/actionexecution/action/{missing}")
    assert response.status_code == 404
    assert response.json() == {"error": "Action not found", "actionId": missing}


def test_get_by_action_costs_the_same_queries_for_any_page(base, report, broken, run, workflow_api,
                                                           django_assert_max_num_queries):
    for _ in range(3):
        run(report)
        run(broken)
    # Queries: the API key, its last-used stamp, the project, the action, COUNT, the page (with the
    # action link), the failed steps' messages of the page.
    with django_assert_max_num_queries(7):
        response = workflow_api.get(f"{base}/actionexecution/action/{broken.id}")
    assert [e["status"] for e in response.json()["executions"]] == ["Failed"] * 3


# -- last -----------------------------------------------------------------------------------------------------
def test_get_last_answers_the_newest_execution(base, report, run, workflow_api):
    ids = [run(report), run(report)]
    age(ids)
    response = workflow_api.get(f"{base}/actionexecution/lastaction/{report.id}")
    assert response.status_code == 200
    assert response.json()["actionExecutionId"] == ids[-1]
    assert set(response.json()) == EXECUTION_KEYS


def test_get_last_answers_404_before_the_first_run_and_for_an_unknown_action(base, report, workflow_api):
    response = workflow_api.get(f"{base}/actionexecution/lastaction/{report.id}")
    assert response.status_code == 404
    assert response.json() == {"error": "Action has no executions yet", "actionId": str(report.id)}
    missing = str(uuid.uuid4())
    assert workflow_api.get(f"{base}/actionexecution/lastaction/{missing}").json() == {
        "error": "Action not found", "actionId": missing}


# -- package --------------------------------------------------------------------------------------------------
def test_download_package_bundles_input_task_runs_outputs_and_logs(base, report, run, workflow_api,
                                                                   django_assert_max_num_queries):
    execution_id = run(report)
    # Queries: the API key, its last-used stamp, the project, the execution (with its action link),
    # its task runs, its logs.
    with django_assert_max_num_queries(6):
        response = workflow_api.get(f"{base}/actionexecution/downloadpackage/{execution_id}")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    package = response.json()
    assert set(package) == {"execution", "input", "taskRuns", "outputs", "logs"}
    assert package["execution"]["actionExecutionId"] == execution_id
    assert package["execution"]["status"] == "Completed"
    assert package["input"] == {}
    assert [(t["name"], t["type"], t["status"], t["attempts"]) for t in package["taskRuns"]] == [
        ("extract", "set", "Completed", 1), ("note", "log", "Completed", 1)]
    assert package["outputs"]["extract"] == {"rows": 42}
    assert any(line["message"] == "Rebuilt from 42 rows" and line["task"] == "note"
               for line in package["logs"]["lines"])
    assert package["logs"]["truncated"] is False


def test_download_package_of_a_failed_execution_says_what_failed(base, broken, run, workflow_api):
    package = workflow_api.get(f"{base}/actionexecution/downloadpackage/{run(broken)}").json()
    assert (package["execution"]["status"], package["execution"]["notes"]) == (
        "Failed", "Source data is missing for January")
    assert [(t["name"], t["status"], t["message"]) for t in package["taskRuns"]] == [
        ("check", "Failed", "Source data is missing for January")]
    assert package["outputs"] == {}


@pytest.mark.openapi_exempt("mindzie_action_execution_download_package",
                            reason="the zip is binary (application/zip, as documented); the check reads only JSON")
def test_download_package_as_a_zip(base, report, run, workflow_api):
    execution_id = run(report)
    url = f"{base}/actionexecution/downloadpackage/{execution_id}"
    for response in (workflow_api.get(url, HTTP_ACCEPT="application/zip"), workflow_api.get(f"{url}?format=zip")):
        assert response.status_code == 200
        assert response["Content-Type"] == "application/zip"
        assert response["Content-Disposition"] == f'attachment; filename="action-execution-{execution_id}.zip"'
        archive = zipfile.ZipFile(io.BytesIO(response.content))
        assert sorted(archive.namelist()) == ["execution.json", "input.json", "logs.json", "outputs.json",
                                              "taskRuns.json"]
        assert json.loads(archive.read("outputs.json"))["extract"] == {"rows": 42}


def test_download_package_cuts_long_logs_short_and_says_so(base, report, run, workflow_api, monkeypatch):
    monkeypatch.setattr(mindzie, "MAX_PACKAGE_LOGS", 1)
    logs = workflow_api.get(f"{base}/actionexecution/downloadpackage/{run(report)}").json()["logs"]
    assert (len(logs["lines"]), logs["truncated"]) == (1, True)


def test_download_package_of_an_execution_still_running_is_409(base, report, workflow_api):
    execution_id = queue(base, workflow_api, report)
    url = f"{base}/actionexecution/downloadpackage/{execution_id}"
    response = workflow_api.get(url)
    assert response.status_code == 409
    assert response.json() == {"error": mindzie.NOT_ENDED, "actionExecutionId": execution_id, "status": "Queued"}
    # Errors stay JSON when a zip was asked for.
    zipped = workflow_api.get(url, HTTP_ACCEPT="application/zip")
    assert (zipped.status_code, zipped["Content-Type"]) == (409, "application/json")
    assert zipped.json()["status"] == "Queued"
    missing = str(uuid.uuid4())
    response = workflow_api.get(f"{base}/actionexecution/downloadpackage/{missing}", HTTP_ACCEPT="application/zip")
    assert (response.status_code, response.json()) == (
        404, {"error": "Action execution not found", "actionExecutionId": missing})


def test_download_package_counts_a_cancelled_execution_as_ended(base, report, workflow_api):
    execution_id = queue(base, workflow_api, report)
    Execution.objects.filter(pk=execution_id).update(status=ExecutionStatus.CANCELLED, ended_at=timezone.now())
    package = workflow_api.get(f"{base}/actionexecution/downloadpackage/{execution_id}").json()
    assert (package["execution"]["status"], package["execution"]["notes"]) == (
        "Failed", "The execution was cancelled.")


# -- pings ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("controller", ["action", "actionexecution"])
def test_the_authenticated_pings_check_the_credentials_and_the_path(tenant_a, project_a, base, viewer_api,
                                                                    outsider_api, controller):
    response = viewer_api.get(f"{base}/{controller}/ping")
    assert response.status_code == 200
    assert response.json() == {"data": "Ping Successful", "tenantId": str(tenant_a.id),
                               "projectId": str(project_a.id)}
    response = APIClient().get(f"{base}/{controller}/ping")
    assert response.status_code == 401
    assert set(response.json()) == {"error"}
    assert outsider_api.get(f"{base}/{controller}/ping").json() == {"error": "Tenant not found",
                                                                     "tenantId": str(tenant_a.id)}


@pytest.mark.parametrize("controller", ["action", "actionexecution"])
def test_the_unauthorized_pings_need_no_credentials_and_ignore_bad_ones(base, controller):
    anonymous = APIClient()
    response = anonymous.get(f"{base}/{controller}/unauthorized-ping")
    assert (response.status_code, response.json()) == (200, {"data": "Ping Successful"})
    bad = APIClient()
    bad.credentials(HTTP_AUTHORIZATION="Bearer not-a-key")
    assert bad.get(f"{base}/{controller}/unauthorized-ping").json() == {"data": "Ping Successful"}
    # Any tenant and project: nothing is looked up.
    assert anonymous.get(f"/api/{uuid.uuid4()}/{uuid.uuid4()}/{controller}/unauthorized-ping").status_code == 200


# -- fixed words are never ids --------------------------------------------------------------------------------
def test_a_fixed_word_is_never_read_as_an_id(base, tenant_a, project_a, workflow_api):
    # An action whose short id is a fixed word stays reachable by its GUID only.
    pinged = ActionFactory(project=project_a, name="Ping", short_id="ping", steps=STEPS)
    assert workflow_api.get(f"{base}/action/ping").json()["data"] == "Ping Successful"
    assert workflow_api.get(f"{base}/action/ping/").json()["data"] == "Ping Successful"
    assert workflow_api.get(f"{base}/action/{pinged.id}").json()["name"] == "Ping"
    assert workflow_api.get(f"{base}/actionexecution/ping").json()["data"] == "Ping Successful"
    for path in ("action/execute", "action/execution", "actionexecution/lastaction", "actionexecution/lastaction/",
                 "actionexecution/action", "actionexecution/downloadpackage", "actionexecution/unknown/deeper"):
        response = workflow_api.get(f"{base}/{path}")
        assert response.status_code == 404, path
        assert set(response.json()) == {"error"}, path
        assert response.json()["error"].startswith("No mindzie endpoint at"), path


def test_a_project_bound_key_reaches_only_its_projects_executions(tenant_a, project_a, base, report, run):
    execution_id = run(report)
    side = ProjectFactory(tenant=tenant_a, name="Side", slug="side")
    bound = key_client(tenant_a, Role.WORKFLOW, project=side)
    for path in (f"actionexecution/{execution_id}", f"actionexecution/action/{report.id}",
                 f"actionexecution/lastaction/{report.id}", f"actionexecution/downloadpackage/{execution_id}"):
        assert bound.get(f"{base}/{path}").json() == {"error": "Project not found", "projectId": str(project_a.id)}


# -- OpenAPI ------------------------------------------------------------------------------------------------
def test_it_documents_the_action_execution_endpoints_without_warnings():
    schema, warnings = generate_document(records_urls.urlpatterns)
    assert warnings == {}
    prefix = "/api/{tenantId}/{projectId}"
    for path in ("/action/ping", "/action/unauthorized-ping", "/action/execution/{actionExecutionId}",
                 "/actionexecution/ping", "/actionexecution/unauthorized-ping",
                 "/actionexecution/{actionExecutionId}", "/actionexecution/action/{actionId}",
                 "/actionexecution/lastaction/{actionId}", "/actionexecution/downloadpackage/{actionExecutionId}"):
        operation = schema["paths"][prefix + path]["get"]
        assert operation["tags"] == ["mindzie"], path
        assert "200" in operation["responses"], path
    package = schema["paths"][prefix + "/actionexecution/downloadpackage/{actionExecutionId}"]["get"]
    assert set(package["responses"]["200"]["content"]) == {"application/json", "application/zip"}
    # The unauthenticated pings name no security scheme; the others do.
    assert "security" not in schema["paths"][prefix + "/action/unauthorized-ping"]["get"]
    assert schema["paths"][prefix + "/action/ping"]["get"]["security"]
