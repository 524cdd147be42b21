"""The OpenAPI document: generated without warnings, and responses conform to it."""

import pytest
from django.core.management import call_command

from tests.executions.factories import make_workflow
from tests.support.openapi import matches_schema


def test_the_schema_generates_without_warnings(tmp_path):
    # --fail-on-warn turns any drf-spectacular warning into an error; --validate checks the document.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))
    assert (tmp_path / "schema.yaml").read_text().startswith("openapi: 3")


@pytest.mark.django_db
def test_the_docs_pages_are_served(client):
    assert client.get("/api/schema/").status_code == 200
    docs = client.get("/api/docs/")
    assert docs.status_code == 200 and b"swagger" in docs.content.lower()
    assert client.get("/api/redoc/").status_code == 200


@pytest.mark.django_db
def test_native_responses_match_the_schema(admin_api, project_a, django_capture_on_commit_callbacks):
    workflow = make_workflow(project_a, [
        {"name": "a", "type": "set", "config": {"values": {"x": 1}}},
        {"name": "b", "type": "response", "config": {"value": "ok"}, "depends_on": ["a"]},
    ], alias="schema-check")
    with django_capture_on_commit_callbacks(execute=True):
        started = admin_api.post("/api/v1/executions/", {"workflow": "schema-check"}, format="json")
    execution_id = started.json()["id"]
    responses = [
        started,
        admin_api.get("/api/v1/workflows/"),
        admin_api.get(f"/api/v1/workflows/{workflow.id}/"),
        admin_api.get(f"/api/v1/workflows/{workflow.id}/versions/"),
        admin_api.get("/api/v1/executions/"),
        admin_api.get(f"/api/v1/executions/{execution_id}/"),
        admin_api.get(f"/api/v1/executions/{execution_id}/logs/"),
        admin_api.get(f"/api/v1/executions/{execution_id}/tasks/"),
        admin_api.get(f"/api/v1/executions/{execution_id}/tasks/a/"),
        admin_api.get("/api/v1/executions/00000000-0000-0000-0000-000000000000/"),
        admin_api.post("/api/v1/workflows/", {"name": "bad", "definition": {"tasks": [{"name": "x"}]}}, format="json"),
        admin_api.post(f"/api/v1/executions/{execution_id}/cancel/"),
    ]
    assert [r.status_code for r in responses] == [201, 200, 200, 200, 200, 200, 200, 200, 200, 404, 400, 409]
    problems = {f"{r.wsgi_request.method} {r.wsgi_request.path}": matches_schema(r) for r in responses}
    assert {k: v for k, v in problems.items() if v} == {}
