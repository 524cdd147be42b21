"""schemathesis sends generated requests, valid and invalid, to every documented operation.

Each request goes out twice, with an admin key of tenant A (who owns the seeded workflow and
execution) and one of tenant B (to whom they are another tenant's: 404); every answer must be no
server error, have a documented status code and content type, fit the documented schema, accept
what the schema allows and refuse what it does not. The run is bounded and repeatable: a fixed
seed, deterministic generation and a few examples per operation. The live stream is left out: it
stays open while its execution runs.
"""

from __future__ import annotations

import uuid

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, assume, settings
from schemathesis.generation.modes import GenerationMode

from accounts.models import Role
from config.wsgi import application
from tests.accounts.factories import ApiKeyFactory, ProjectFactory, TenantFactory
from tests.executions.factories import ExecutionFactory
from tests.support.clients import APIClient
from tests.support.openapi import openapi_document
from tests.workflows.factories import WorkflowFactory

# Operations whose valid-looking requests may be refused, and why: the schema cannot say it.
REFUSES_VALID_LOOKING = {
    # The body names other objects (a workflow, a project, an alias that must be new), and tenant B's
    # key reaches none of A's: a 400 (or Port's and Flowdash's 422) says which.
    "api_v1_executions_create": "the workflow must exist",
    "api_v1_schedules_create": "the workflow must exist",
    "api_v1_actions_create": "the project and workflow must exist",
    "actions_create": "the project and workflow must exist",
    "api_v1_callback_secrets_create": "the project must exist",
    "api_v1_webhooks_create": "the project must exist",
    "api_v1_webhooks_list": "the project filter must name a project of the tenant",
    "api_v1_schedules_list": "the workflow filter must name a workflow of the tenant",
    "api_v1_workflows_create": "an alias must be new in its project",
    "api_v1_workflows_update": "the project must exist and the tasks' types be registered",
    "api_v1_workflows_partial_update": "the project must exist and the tasks' types be registered",
    "workflow_tasks_create": "the stage, the fields and the assignee must exist",
    "workflow_task_update": "the stage, the fields and the assignee must exist",
    "flowsynx_execute_workflow": "the body's workflowId must equal the path's",
    "port_upsert_flow_run": "a body's id must equal the path's",
    "flowdash_execution_create": "the task and action must exist",
    # A GET with a JSON body, and file uploads: schemathesis sends neither as these pings expect.
    "mindzie_ping_body": "a GET with a body",
    "mindzie_ping_path_and_body": "a GET with a body",
    "mindzie_ping_file": "a file part",
    "mindzie_ping_form": "a file part",
    "mindzie_ping_path_and_form": "a file part",
}
# Operations whose invalid-looking requests may be accepted, and why.
ACCEPTS_INVALID_LOOKING = {
    # Multipart fields are text: a number and the same number written as text cannot be told apart.
    "mindzie_ping_form": "multipart fields are text",
    "mindzie_ping_path_and_form": "multipart fields are text",
}
CHECKS = ["not_a_server_error", "status_code_conformance", "content_type_conformance",
          "response_schema_conformance", "positive_data_acceptance", "negative_data_rejection"]
CONFIG = schemathesis.config.SchemathesisConfig.from_dict({
    "seed": 20261130,
    # No NUL characters: PostgreSQL's text cannot hold them, and every surface refuses them.
    # The credentials are the seeded keys, sent by the test, never generated ones.
    "generation": {"max-examples": 4, "deterministic": True, "mode": "all", "allow-x00": False,
                   "with-security-parameters": False},
    "phases": {"examples": {"enabled": True}, "coverage": {"enabled": False}, "fuzzing": {"enabled": True},
               "stateful": {"enabled": False}},
    "checks": {"enabled": False, **{name: {"enabled": True} for name in CHECKS}},
    "operations": [
        {"include-operation-id": "executions_events", "enabled": False},
        # mindzie's ping-exception answers 501 on purpose (documented).
        {"include-operation-id": "mindzie_ping_exception", "checks": {"not_a_server_error": {"enabled": False}}},
        *({"include-operation-id": operation_id, "checks": {
            **({"positive_data_acceptance": {"enabled": False}} if operation_id in REFUSES_VALID_LOOKING else {}),
            **({"negative_data_rejection": {"enabled": False}} if operation_id in ACCEPTS_INVALID_LOOKING else {}),
        }} for operation_id in sorted(REFUSES_VALID_LOOKING.keys() | ACCEPTS_INVALID_LOOKING.keys())),
    ],
})


@pytest.fixture
def keep_connection():
    """The application keeps the test's database connection (and its transaction) across requests,
    as Django's test client does: it closes it when a request finishes otherwise."""
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


@pytest.fixture
def seeded(db, keep_connection) -> dict:
    """Tenant A's project holds a workflow and an execution of it that ran (task runs, logs, a return
    value); the keys are an admin key of A and one of tenant B, to whom A's objects answer 404."""
    tenant_a, tenant_b = TenantFactory(slug="fuzz-a"), TenantFactory(slug="fuzz-b")
    project_a = ProjectFactory(tenant=tenant_a, slug="main")
    ProjectFactory(tenant=tenant_b, slug="main")
    workflow = WorkflowFactory(project=project_a, alias="expense-approval", tasks=[
        {"name": "a", "type": "set", "config": {"values": {"x": 1}}},
        {"name": "b", "type": "response", "config": {"value": "ok"}, "depends_on": ["a"]},
    ])
    execution = ExecutionFactory(workflow=workflow, run=True)
    return {"keys": [ApiKeyFactory(tenant=tenant, role=Role.ADMIN).secret for tenant in (tenant_a, tenant_b)],
            "workflow": str(workflow.id), "execution": str(execution.id)}


def seeded_path_parameters(case, seeded: dict) -> None:
    """Path ids that name an object (a UUID) name the seeded workflow or execution, so that the
    operations answer about a real object: to tenant A with it, to tenant B with 404."""
    for name, value in list((case.path_parameters or {}).items()):
        try:
            uuid.UUID(str(value))
        except ValueError:
            continue
        if name in ("execution_id", "executionId") or (name == "id" and case.path.startswith("/api/v1/executions/")):
            case.path_parameters[name] = seeded["execution"]
        elif name in ("workflow_id", "workflowId") or (name == "id" and case.path.startswith("/api/v1/workflows/")):
            case.path_parameters[name] = seeded["workflow"]


ARRAY_PARAMETERS = {
    (method, path): [parameter["name"] for parameter in operation.get("parameters", [])
                     if parameter.get("schema", {}).get("type") == "array"]
    for path, methods in openapi_document()["paths"].items() for method, operation in methods.items()
    if isinstance(operation, dict)
}
schema = schemathesis.openapi.from_dict(openapi_document(), config=CONFIG)
schema.app = application


@schema.parametrize()
@settings(suppress_health_check=list(HealthCheck), deadline=None)
def test_every_operation_answers_as_documented(case, seeded):
    seeded_path_parameters(case, seeded)
    if case.query:
        negative = case.meta is not None and case.meta.generation.mode == GenerationMode.NEGATIVE
        # A cursor is opaque: only one a page handed out is valid, which no schema can say (the
        # tests below send a bad one). A valid request goes without it; an invalid one is not judged.
        if "cursor" in case.query:
            assume(not negative)
            del case.query["cursor"]
        # A single-valued parameter sent several times counts once, with its last value (as Django
        # reads a query string), which no schema can say: such a request is not judged.
        lists = set(ARRAY_PARAMETERS.get((case.method.lower(), case.path), ()))
        assume(not any(isinstance(value, list) and name not in lists for name, value in case.query.items()))
    for key in seeded["keys"]:
        case.call_and_validate(headers={"Authorization": f"Bearer {key}"})


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/v1/workflows/", "/api/v1/executions/", "/api/v1/webhooks/"])
def test_a_cursor_no_page_handed_out_answers_400(admin_api, path):
    response = admin_api.get(f"{path}?cursor=not-a-cursor")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "cursor"


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/v1/webhooks/", "/api/v1/schedules/"])
def test_an_enabled_filter_it_cannot_read_answers_400(admin_api, path):
    for word in ("1.7e16", "null"):
        response = admin_api.get(f"{path}?enabled={word}")
        assert response.status_code == 400
        assert response.json()["errors"] == [{"field": "enabled", "message": "Use true or false."}]
    assert admin_api.get(f"{path}?enabled=").status_code == 200  # empty: no filter
    assert admin_api.get(f"{path}?enabled=false").status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["post", "put", "delete"])
def test_an_unknown_api_path_answers_its_json_404_to_every_method(tenant_a, project_a, method):
    # With CSRF checks on, as for a caller that sends a cookie: the CSRF page must not answer instead.
    client = APIClient(enforce_csrf_checks=True)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {ApiKeyFactory(tenant=tenant_a, role=Role.ADMIN).secret}")
    for path in ("/api/v1/webhooks/not.an.id/rotate-secret/", "/api/ping/pingwithpathandmultipleformparams/x"):
        response = getattr(client, method)(path)
        assert response.status_code == 404 and response["Content-Type"] == "application/json", (path, response)
