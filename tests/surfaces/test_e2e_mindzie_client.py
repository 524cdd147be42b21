"""mindzie's official Python client (``mindzie-api``, unchanged) against a live Flowgate and a real worker.

The client is built only through its public constructor, as its users build it: the server's base
URL, the tenant's GUID and a Flowgate API key. Every call below goes over HTTP to a live server
(pytest-django's ``live_server``) whose actions are run by a real Celery worker on Redis and
PostgreSQL.

Errors: the client's ``_handle_response`` turns a status into its exception classes (400
ValidationError, 401 and 403 AuthenticationError, 404 NotFoundError, 409 ConflictError), but in
mindzie-api 2.0.0 ``request()`` catches that exception with ``except Exception`` and raises its base
class instead, ``MindzieAPIException("Unexpected error during request: <error> | Status Code: <code>")``.
So a caller sees the base class carrying Flowgate's ``error`` and status; the tests check that, and
that the client's own table classes each of Flowgate's answers as the subclass it intends.
"""

from __future__ import annotations

import gc
import io
import threading
import uuid

import pytest
import requests
from mindzie_api import (
    AuthenticationError,
    ConflictError,
    MindzieAPIClient,
    MindzieAPIException,
    NotFoundError,
    ServerError,
    ValidationError,
)
from mindzie_api.models.project import Project, ProjectListResponse, ProjectSummary

from accounts.models import Role
from tests.conftest import key_client, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

STEPS = {"tasks": [
    {"name": "extract", "type": "set", "config": {"values": {"rows": 42}}},
    {"name": "side", "type": "log", "config": {"message": "side branch"}},
    {"name": "answer", "type": "response", "depends_on": ["extract", "side"],
     "config": {"value": {"rows": "{{ tasks.extract.output.rows }}"}}},
]}


@pytest.fixture
def mindzie_client(live_server):
    """``mindzie_client(tenant, secret)``: the client as its users build it; closed after the test.

    Closing ends its keep-alive connections; the live server's thread for each then closes its
    database connection, which is waited for so that no test leaves one open behind it.
    """
    made: list[MindzieAPIClient] = []
    earlier = set(threading.enumerate())

    def make(tenant, secret: str) -> MindzieAPIClient:
        made.append(MindzieAPIClient(base_url=live_server.url, tenant_id=str(tenant.id), api_key=secret))
        return made[-1]

    yield make
    for client in made:
        client.close()
    # A connection that answered an error stays open on the client's side until its response is
    # garbage-collected (the exception's traceback holds it); then the server's thread ends.
    gc.collect()
    for thread in set(threading.enumerate()) - earlier:
        if thread.name.endswith("(process_request_thread)"):
            thread.join(timeout=10)


def failure(call, *args) -> MindzieAPIException:
    """The exception a client call raises: mindzie-api 2.0.0 raises its base class for every HTTP error."""
    with pytest.raises(MindzieAPIException) as error:
        call(*args)
    return error.value


def classified(client: MindzieAPIClient, path: str) -> MindzieAPIException:
    """What the client's own status-to-exception table makes of Flowgate's answer to GET ``path``."""
    response = client.session.get(f"{client.base_url}{path}", timeout=10)
    with pytest.raises(MindzieAPIException) as error:
        client._handle_response(response)
    return error.value


def create_action(server, secret: str, project, name: str, steps: dict) -> str:
    """An action created as an operator creates one: through the native API."""
    response = requests.post(f"{server.url}/api/v1/actions/", timeout=10, headers={"Authorization": f"Bearer {secret}"},
                             json={"project": str(project.id), "name": name, "steps": steps})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def test_mindzies_client_executes_then_tracks_the_execution(live_server, live_worker, mindzie_client, tenant_a,
                                                             project_a):
    admin = key_client(tenant_a, Role.ADMIN)
    action = create_action(live_server, admin.secret, project_a, "Refresh report", STEPS)
    client = mindzie_client(tenant_a, key_client(tenant_a, Role.WORKFLOW).secret)
    project = str(project_a.id)

    # The pings: every controller's, with and without credentials.
    assert client.ping.ping() == "Ping Successful"
    assert client.ping.unauthorized_ping() == "Ping Successful"
    for controller in (client.actions, client.action_executions):
        assert controller.ping(project) == "Ping Successful"
        assert controller.ping_unauthorized(project) == "Ping Successful"
    assert client.projects.ping() == "Ping Successful"
    assert client.projects.ping_unauthorized() == "Ping Successful"
    assert client.ping.ping_with_tenant_id(str(tenant_a.id)) == "Ping Successful"
    assert client.ping.ping_with_project_id(project) == "Ping Successful"
    assert client.ping.ping_with_body({"id": 1, "name": "probe"}) == "Ping Successful"
    assert client.ping.ping_with_path_and_body(2, {"id": 1, "name": "probe"}) == "Ping Successful"
    assert client.ping.ping_with_file(io.BytesIO(b"hello")) == "Ping Successful"
    assert client.ping.ping_with_multiple_form_params({"id": 1, "name": "probe"}, io.BytesIO(b"hello")) == (
        "Ping Successful")
    assert client.ping.ping_with_path_and_multiple_form_params(3, {"id": 1, "name": "probe"},
                                                               io.BytesIO(b"hello")) == "Ping Successful"
    # The one that fails on purpose: 501, which the client does not retry.
    assert failure(client.ping.ping_exception).message.endswith("fails on purpose, so that a client can test how "
                                                               "it handles a server error. | Status Code: 501")
    assert isinstance(classified(client, "/api/ping/ping-exception"), ServerError)

    # Execute, then poll the execution as the client does until it has ended.
    started = client.actions.execute(project, action)
    assert (started["actionId"], started["status"], started["dateEnded"]) == (action, "Queued", None)
    execution_id = started["actionExecutionId"]
    seen = set()

    def ended():
        execution = client.action_executions.get_by_id(project, execution_id)
        seen.add(execution["status"])
        return execution if execution["status"] in ("Completed", "Failed") else None

    done = wait_until(ended, timeout=60, interval=0.2)
    assert (done["status"], done["notes"], done["actionExecutionId"]) == ("Completed", None, execution_id)
    assert done["dateEnded"] is not None
    assert seen <= {"Queued", "Running", "Completed"}

    again = client.actions.execute(project, action)["actionExecutionId"]
    wait_until(lambda: client.action_executions.get_by_id(project, again)["status"] == "Completed", timeout=60)
    listed = client.action_executions.get_by_action(project, action)
    assert [e["actionExecutionId"] for e in listed["executions"]] == [again, execution_id]
    assert (listed["totalCount"], listed["page"]) == (2, 1)
    assert client.action_executions.get_last(project, action)["actionExecutionId"] == again

    package = client.action_executions.download_package(project, execution_id)
    assert package["execution"]["status"] == "Completed"
    assert package["execution"]["returnValue"] == {"rows": 42}
    assert package["outputs"]["extract"] == {"rows": 42}
    assert {t["name"]: t["status"] for t in package["taskRuns"]} == {
        "extract": "Completed", "side": "Completed", "answer": "Completed"}
    assert any(line["message"] == "side branch" for line in package["logs"]["lines"])

    # Projects, read into the client's own models.
    found = client.projects.get_by_id(project)
    assert isinstance(found, Project) and (found.project_id, found.name) == (project, "Main")
    listing = client.projects.get_all()
    assert isinstance(listing, ProjectListResponse)
    assert [p.project_id for p in listing.projects] == [project] and listing.total_count == 1
    assert [p.project_id for p in client.projects.list_projects()] == [project]
    assert [p.name for p in client.projects.search(name_contains="mai").projects] == ["Main"]
    summary = client.projects.get_summary(project)
    assert isinstance(summary, ProjectSummary) and summary.statistics.total_datasets == 0


def test_mindzies_client_sees_a_failure_and_a_running_execution(live_server, live_worker, mindzie_client, tenant_a,
                                                                project_a):
    admin = key_client(tenant_a, Role.ADMIN)
    broken = create_action(live_server, admin.secret, project_a, "Broken", {"tasks": [
        {"name": "check", "type": "fail", "config": {"message": "Source data is missing for January"}}]})
    slow = create_action(live_server, admin.secret, project_a, "Slow", {"tasks": [
        {"name": "later", "type": "delay", "config": {"seconds": 3600}}]})
    client = mindzie_client(tenant_a, admin.secret)
    project = str(project_a.id)

    failed_id = client.actions.execute(project, broken)["actionExecutionId"]
    failed = wait_until(lambda: (e := client.action_executions.get_by_id(project, failed_id))["status"] == "Failed"
                        and e, timeout=60)
    assert failed["notes"] == "Source data is missing for January"
    assert client.action_executions.download_package(project, failed_id)["taskRuns"][0]["message"] == (
        "Source data is missing for January")

    running_id = client.actions.execute(project, slow)["actionExecutionId"]
    wait_until(lambda: client.action_executions.get_by_id(project, running_id)["status"] == "Running", timeout=60)
    error = failure(client.action_executions.download_package, project, running_id)
    assert "Action execution has not ended" in error.message and error.message.endswith("Status Code: 409")
    conflict = classified(client, f"/api/{tenant_a.id}/{project}/actionexecution/downloadpackage/{running_id}")
    assert isinstance(conflict, ConflictError) and conflict.response_data["status"] == "Running"


def test_mindzies_client_raises_its_own_exceptions(live_server, live_worker, mindzie_client, tenant_a, project_a,
                                                   tenant_b):
    admin = key_client(tenant_a, Role.ADMIN)
    action = create_action(live_server, admin.secret, project_a, "Refresh report", STEPS)
    project = str(project_a.id)
    base = f"/api/{tenant_a.id}/{project}"
    client = mindzie_client(tenant_a, admin.secret)
    execution_id = client.actions.execute(project, action)["actionExecutionId"]

    # An unknown action, execution or project: 404 with mindzie's body.
    missing = str(uuid.uuid4())
    for call in (client.actions.execute, client.action_executions.get_by_action, client.action_executions.get_last):
        assert failure(call, project, missing).message.endswith("Action not found | Status Code: 404")
    assert failure(client.action_executions.get_by_id, project, missing).message.endswith(
        "Action execution not found | Status Code: 404")
    assert failure(client.projects.get_by_id, missing).message.endswith("Project not found | Status Code: 404")
    error = classified(client, f"{base}/action/execute/{missing}")
    assert isinstance(error, NotFoundError) and error.response_data == {"error": "Action not found",
                                                                         "actionId": missing}

    # A key of another tenant, pointed at this tenant: it learns nothing (404, as for a missing tenant).
    outsider = mindzie_client(tenant_a, key_client(tenant_b, Role.ADMIN).secret)
    calls = [(outsider.actions.execute, project, action), (outsider.action_executions.get_by_id, project, execution_id),
             (outsider.action_executions.get_by_action, project, action), (outsider.projects.get_all,),
             (outsider.actions.ping, project)]
    for call, *args in calls:
        assert failure(call, *args).message.endswith("Tenant not found | Status Code: 404")
    assert isinstance(classified(outsider, f"{base}/actionexecution/{execution_id}"), NotFoundError)
    # ... and pointed at its own tenant, this tenant's project is not there.
    own = mindzie_client(tenant_b, key_client(tenant_b, Role.ADMIN).secret)
    assert failure(own.action_executions.get_by_id, project, execution_id).message.endswith(
        "Project not found | Status Code: 404")

    # A bad key: 401, the same for every call but the unauthenticated pings.
    for secret in ("fg_00000000_not-a-real-key", "nonsense"):
        bad = mindzie_client(tenant_a, secret)
        calls = [(bad.actions.execute, project, action), (bad.ping.ping,),
                 (bad.action_executions.get_by_id, project, execution_id), (bad.projects.get_all,)]
        for call, *args in calls:
            message = failure(call, *args).message
            assert "API key" in message and message.endswith("Status Code: 401")
        assert isinstance(classified(bad, f"{base}/action/execute/{action}"), AuthenticationError)
        assert bad.actions.ping_unauthorized(project) == "Ping Successful"
        assert bad.ping.unauthorized_ping() == "Ping Successful"

    # A role that may not run the action (403); a page out of range (400).
    viewer = mindzie_client(tenant_a, key_client(tenant_a, Role.VIEWER).secret)
    assert failure(viewer.actions.execute, project, action).message.endswith(
        "Your role (viewer) may not perform 'Refresh report'; it needs one of: admin, workflow. | Status Code: 403")
    forbidden = classified(viewer, f"{base}/action/execute/{action}")
    assert isinstance(forbidden, AuthenticationError) and forbidden.message.startswith("Forbidden: Your role")
    assert failure(client.projects.get_all, 1, 5000).message.endswith(
        "pageSize must be a whole number from 1 to 1000; it was '5000'. | Status Code: 400")
    assert isinstance(classified(client, f"/api/{tenant_a.id}/project?pageSize=5000"), ValidationError)
