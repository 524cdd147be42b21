"""Port's flow-runs API: the document's examples replayed, upsert, roles and tenants."""

from __future__ import annotations

import re

import pytest

from accounts.models import Role
from flowruns.models import FlowRun
from tests.accounts.factories import ApiKeyFactory, key_caller
from tests.conftest import key_client
from tests.flowruns.factories import T0, FlowRunFactory, at
from tests.support.clients import APIClient

pytestmark = pytest.mark.django_db

# The document's response example shows these keys...
DOC_RUN_KEYS = {"id", "flowId", "flowType", "phase", "startTime", "endTime", "actions", "logs", "tags",
                "createdAt", "createdBy", "updatedAt", "updatedBy", "reviewedBy", "reviewedAt"}
# ...and its response schema lists two more, which have no example value.
RUN_KEYS = DOC_RUN_KEYS | {"args", "outputs"}
LIST_KEYS = {"items", "total", "current_page", "current_page_backwards", "previous_page", "next_page"}
ACTION_KEYS = {"id", "phase", "startTime", "endTime"}
LOG_KEYS = {"timestamp", "message", "level", "action"}
TAG_KEYS = {"key", "value"}
PROBLEM_KEYS = {"loc", "msg", "type"}
ID_RE = re.compile(r"^([a-z0-9_.-]+)$")

FULL_RUN = {
    "flowId": "deploy",
    "flowType": "automation",
    "args": {"service": "api"},
    "phase": "running",
    "startTime": "2025-01-20T18:53:03.558Z",
    "endTime": None,
    "actions": [{"id": "build", "phase": "running", "startTime": "2025-01-20T18:53:03.558Z", "endTime": None}],
    "outputs": {"url": "https://example.com"},
    "logs": [{"timestamp": "2025-01-20T18:53:03.558Z", "message": "text", "level": "info", "action": "build"}],
    "tags": [{"key": "env", "value": "prod"}],
}


def assert_run_shape(run: dict) -> None:
    assert set(run) == RUN_KEYS
    assert ID_RE.match(run["id"]) and ID_RE.match(run["flowId"])
    for action in run["actions"]:
        assert set(action) == ACTION_KEYS
    for line in run["logs"]:
        assert set(line) == LOG_KEYS
    for tag in run["tags"]:
        assert set(tag) == TAG_KEYS


# -- the document's examples ------------------------------------------------------------------------------
def test_it_replays_the_documented_create(admin_api):
    response = admin_api.post("/api/v1/flow-runs", {"flowId": "text"}, format="json")

    assert response.status_code == 201
    run = response.json()
    assert_run_shape(run)
    assert run["flowId"] == "text"
    assert run["flowType"] == "selfServiceAction"  # the document's default for POST
    assert run["phase"] is None and run["actions"] == [] and run["logs"] == [] and run["tags"] == []
    assert run["createdAt"] == run["updatedAt"]


def test_it_replays_the_documented_upsert(admin_api):
    created = admin_api.put("/api/v1/flow-runs/text", {"flowId": "text", "flowType": "automation"}, format="json")
    replaced = admin_api.put("/api/v1/flow-runs/text", {"flowId": "text", "flowType": "automation"}, format="json")

    assert created.status_code == 201
    assert replaced.status_code == 200
    assert_run_shape(created.json())
    assert_run_shape(replaced.json())
    assert created.json()["id"] == replaced.json()["id"] == "text"
    assert FlowRun.objects.count() == 1


def test_it_replays_the_documented_get_one_and_list(admin_api):
    admin_api.put("/api/v1/flow-runs/text", FULL_RUN, format="json")

    one = admin_api.get("/api/v1/flow-runs/text")
    page = admin_api.get("/api/v1/flow-runs")

    assert one.status_code == 200
    assert_run_shape(one.json())
    assert one.json()["actions"] and one.json()["logs"] and one.json()["tags"]
    assert page.status_code == 200
    assert set(page.json()) == LIST_KEYS
    assert page.json()["total"] == 1
    assert page.json()["items"] == [one.json()]
    assert isinstance(page.json()["current_page"], str) and isinstance(page.json()["current_page_backwards"], str)
    assert page.json()["previous_page"] is None and page.json()["next_page"] is None


def test_it_replays_the_documented_delete(admin_api):
    admin_api.post("/api/v1/flow-runs", {"id": "text", "flowId": "text"}, format="json")

    response = admin_api.delete("/api/v1/flow-runs/text")

    assert response.status_code == 200
    assert response.content == b"null"  # JSON, so a client's response.json() works
    assert not FlowRun.objects.exists()
    gone = admin_api.get("/api/v1/flow-runs/text")
    assert gone.status_code == 404
    assert gone.json() == {"detail": "Flow run not found."}


def test_it_replays_the_documented_validation_error(admin_api):
    response = admin_api.delete("/api/v1/flow-runs/Not%20An%20Id")

    assert response.status_code == 422
    assert set(response.json()) == {"detail"}
    [problem] = response.json()["detail"]
    assert set(problem) == PROBLEM_KEYS
    assert problem == {"loc": ["path", "id_"], "msg": 'string does not match regex "^([a-z0-9_.-]+)$"',
                       "type": "value_error.str.regex"}


# -- create ---------------------------------------------------------------------------------------------------
def test_it_generates_an_id_when_none_is_given(admin_api):
    first = admin_api.post("/api/v1/flow-runs", {"flowId": "deploy"}, format="json").json()
    second = admin_api.post("/api/v1/flow-runs", {"flowId": "deploy", "id": None}, format="json").json()

    assert ID_RE.match(first["id"]) and ID_RE.match(second["id"])
    assert first["id"] != second["id"]


def test_it_creates_with_the_given_fields(admin_api):
    body = {"id": "run.1", "flowId": "deploy", "flowType": "scorecard", "args": {"a": 1},
            "tags": [{"key": "env", "value": "prod"}]}

    run = admin_api.post("/api/v1/flow-runs", body, format="json").json()

    assert {k: run[k] for k in body} == body


def test_it_refuses_to_create_a_taken_id(admin_api):
    admin_api.post("/api/v1/flow-runs", {"id": "dup", "flowId": "deploy"}, format="json")

    response = admin_api.post("/api/v1/flow-runs", {"id": "dup", "flowId": "other"}, format="json")

    assert response.status_code == 409
    assert set(response.json()) == {"detail"}
    assert "PUT /api/v1/flow-runs/dup" in response.json()["detail"]
    assert FlowRun.objects.get(run_id="dup").flow_id == "deploy"


# -- upsert -------------------------------------------------------------------------------------------------
def test_it_upserts_creating_then_replacing(tenant_a, project_a):
    reporter = key_client(tenant_a, Role.ADMIN)
    other = key_client(tenant_a, Role.WORKFLOW)
    with at(T0):
        created = reporter.put("/api/v1/flow-runs/deploy-7", FULL_RUN, format="json").json()
    with at(T0.replace(minute=5)):
        replaced = other.put("/api/v1/flow-runs/deploy-7", {"flowId": "deploy", "flowType": "reference",
                                                           "phase": "success"}, format="json").json()

    assert replaced["createdAt"] == created["createdAt"] == "2025-01-20T18:00:00Z"
    assert replaced["createdBy"] == created["createdBy"]
    assert replaced["updatedAt"] == "2025-01-20T18:05:00Z" != created["updatedAt"]
    run = FlowRun.objects.get()
    assert run.updated_by != run.created_by  # the other key (neither has an owner: both show null)
    # A PUT replaces the whole run: fields left out are reset.
    assert replaced["flowType"] == "reference" and replaced["phase"] == "success"
    assert replaced["args"] is None and replaced["outputs"] is None and replaced["startTime"] is None
    assert replaced["actions"] == [] and replaced["logs"] == [] and replaced["tags"] == []
    assert reporter.get("/api/v1/flow-runs", {"tag": "env:prod"}).json()["total"] == 0


def test_it_keeps_what_a_put_sends(admin_api):
    run = admin_api.put("/api/v1/flow-runs/full", FULL_RUN, format="json").json()

    assert {k: run[k] for k in FULL_RUN} == {
        **FULL_RUN,
        "startTime": "2025-01-20T18:53:03.558000Z",
        "actions": [{**FULL_RUN["actions"][0], "startTime": "2025-01-20T18:53:03.558000Z"}],
        "logs": [{**FULL_RUN["logs"][0], "timestamp": "2025-01-20T18:53:03.558000Z"}],
    }


def test_it_fills_a_log_lines_defaults(admin_api):
    with at(T0):
        run = admin_api.put("/api/v1/flow-runs/x", {"flowId": "d", "flowType": "automation",
                                                    "logs": [{"message": "hi"}]}, format="json").json()

    assert run["logs"] == [{"timestamp": "2025-01-20T18:00:00Z", "message": "hi", "level": "info", "action": None}]


def test_it_refuses_a_body_id_other_than_the_paths(admin_api):
    response = admin_api.put("/api/v1/flow-runs/a", {"id": "b", "flowId": "d", "flowType": "automation"},
                             format="json")

    assert response.status_code == 422
    assert response.json()["detail"] == [{"loc": ["body", "id"], "type": "value_error",
                                          "msg": "id must equal the id_ in the path (or be left out)"}]
    assert admin_api.put("/api/v1/flow-runs/a", {"id": "a", "flowId": "d", "flowType": "automation"},
                         format="json").status_code == 201


# -- server-set fields ------------------------------------------------------------------------------------------
SERVER_FIELDS = {"createdAt": "2001-01-01T00:00:00Z", "createdBy": 99, "updatedAt": "2001-01-01T00:00:00Z",
                 "updatedBy": 99, "reviewedBy": 99, "reviewedAt": "2001-01-01T00:00:00Z"}


def test_it_ignores_server_set_fields_in_a_create(tenant_a, project_a):
    client = key_client(tenant_a, Role.ADMIN)
    with at(T0):
        run = client.post("/api/v1/flow-runs", {"flowId": "d", "phase": "success", **SERVER_FIELDS},
                          format="json").json()

    assert FlowRun.objects.get().created_by.startswith("apikey::")  # a key nobody created: shown as null
    assert run["createdAt"] == run["updatedAt"] == "2025-01-20T18:00:00Z"
    assert run["createdBy"] is None and run["updatedBy"] is None
    assert run["reviewedBy"] is None and run["reviewedAt"] is None
    assert run["phase"] is None  # not a field of the create body


def test_it_ignores_server_set_fields_in_an_upsert(admin_api):
    with at(T0):
        run = admin_api.put("/api/v1/flow-runs/x", {"flowId": "d", "flowType": "automation", **SERVER_FIELDS},
                            format="json").json()
        again = admin_api.put("/api/v1/flow-runs/x", {"flowId": "d", "flowType": "automation", **SERVER_FIELDS},
                              format="json").json()

    for body in (run, again):
        assert body["createdAt"] == "2025-01-20T18:00:00Z"
        assert body["createdBy"] != 99
        assert body["reviewedBy"] is None and body["reviewedAt"] is None


def test_it_shows_a_user_and_a_key_as_numbers_as_the_document_does(tenant_a, alice, walter, user_api):
    by_user = user_api(alice).post("/api/v1/flow-runs", {"flowId": "d"}, format="json").json()
    key = ApiKeyFactory(tenant=tenant_a, role=Role.ADMIN, name="ci-bot", created_by=walter)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key.secret}")
    by_key = client.post("/api/v1/flow-runs", {"flowId": "d"}, format="json").json()
    FlowRunFactory(caller=key_caller(tenant_a, name="nobodys"), run_id="by-unowned-key")

    unowned = user_api(alice).get("/api/v1/flow-runs/by-unowned-key").json()

    assert by_user["createdBy"] == by_user["updatedBy"] == alice.pk
    assert by_key["createdBy"] == by_key["updatedBy"] == walter.pk  # the key's owner
    assert unowned["createdBy"] is None  # a key nobody created


# -- credentials, roles, tenants ---------------------------------------------------------------------------------
def test_it_answers_401_without_credentials(client, tenant_a):
    response = client.get("/api/v1/flow-runs")

    assert response.status_code == 401
    assert set(response.json()) == {"detail"} and isinstance(response.json()["detail"], str)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_it_answers_401_for_a_bad_key(client, tenant_a):
    response = client.get("/api/v1/flow-runs", headers={"Authorization": "Bearer nope"})

    assert response.status_code == 401
    assert set(response.json()) == {"detail"}


@pytest.mark.parametrize("role", [Role.VIEWER, Role.APPROVER])
def test_it_lets_readers_read_but_not_write(tenant_a, project_a, admin_api, role):
    admin_api.post("/api/v1/flow-runs", {"id": "r", "flowId": "d"}, format="json")
    reader = key_client(tenant_a, role)

    assert reader.get("/api/v1/flow-runs").status_code == 200
    assert reader.get("/api/v1/flow-runs/r").status_code == 200
    for response in (
        reader.post("/api/v1/flow-runs", {"flowId": "d"}, format="json"),
        reader.put("/api/v1/flow-runs/r", {"flowId": "d", "flowType": "automation"}, format="json"),
        reader.delete("/api/v1/flow-runs/r"),
    ):
        assert response.status_code == 403
        assert set(response.json()) == {"detail"}
        assert "admin, workflow" in response.json()["detail"]
    assert FlowRun.objects.get().flow_type == "selfServiceAction"


def test_it_lets_the_workflow_role_write_with_any_credential(tenant_a, project_a, walter, user_api):
    by_header = key_client(tenant_a, Role.WORKFLOW, header="x-api-key")

    assert by_header.post("/api/v1/flow-runs", {"id": "a", "flowId": "d"}, format="json").status_code == 201
    assert user_api(walter).put("/api/v1/flow-runs/a", {"flowId": "d", "flowType": "automation"},
                                format="json").status_code == 200
    assert user_api(walter).delete("/api/v1/flow-runs/a").status_code == 200


def test_it_lets_a_session_read(client, victor, admin_api):
    admin_api.post("/api/v1/flow-runs", {"id": "a", "flowId": "d"}, format="json")
    client.force_login(victor)

    assert client.get("/api/v1/flow-runs/a").status_code == 200


def test_it_hides_another_tenants_runs(admin_api, outsider_api):
    admin_api.put("/api/v1/flow-runs/shared-id", FULL_RUN, format="json")

    assert outsider_api.get("/api/v1/flow-runs/shared-id").status_code == 404
    assert outsider_api.delete("/api/v1/flow-runs/shared-id").status_code == 404
    assert outsider_api.get("/api/v1/flow-runs").json()["total"] == 0
    # Ids are unique per tenant: the outsider's PUT makes its own run and leaves A's alone.
    assert outsider_api.put("/api/v1/flow-runs/shared-id", {"flowId": "mine", "flowType": "automation"},
                            format="json").status_code == 201
    assert admin_api.get("/api/v1/flow-runs/shared-id").json()["flowId"] == "deploy"
    assert [r["flowId"] for r in outsider_api.get("/api/v1/flow-runs").json()["items"]] == ["mine"]
    assert admin_api.get("/api/v1/flow-runs").json()["total"] == 1


def test_it_answers_other_methods_with_405(admin_api):
    response = admin_api.patch("/api/v1/flow-runs/x", {"flowId": "d"}, format="json")

    assert response.status_code == 405
    assert set(response.json()) == {"detail"}


def test_it_takes_only_json(admin_api):
    response = admin_api.post("/api/v1/flow-runs", "flowId=d", content_type="application/x-www-form-urlencoded")

    assert response.status_code == 415
    assert set(response.json()) == {"detail"}


def test_it_answers_an_unexpected_failure_in_ports_shape(admin_api, monkeypatch, settings):
    settings.DEBUG = False

    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("flowruns.api.port.get_flow_run_for", broken)
    response = admin_api.get("/api/v1/flow-runs/x")

    assert response.status_code == 500
    assert set(response.json()) == {"detail"}
    assert "disk on fire" not in response.json()["detail"]


def test_runs_written_by_a_key_before_owners_were_stored_show_the_owner(tenant_a, walter):
    from importlib import import_module

    from django.apps import apps

    ApiKeyFactory(tenant=tenant_a, role=Role.ADMIN, name="ci-bot", created_by=walter)
    FlowRunFactory(caller=key_caller(tenant_a, name="old"), run_id="old")
    FlowRun.objects.update(created_by="key:ci-bot", updated_by="key:gone")
    import_module("flowruns.migrations.0007_api_key_actors").key_owners(apps, None)
    run = FlowRun.objects.get()
    assert (run.created_by, run.updated_by) == (f"apikey:{walter.pk}:ci-bot", "apikey::gone")
