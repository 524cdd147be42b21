"""The Port paths in the OpenAPI document: generated without warnings, and answers that match it."""

from __future__ import annotations

from functools import cache

import pytest
from drf_spectacular.validation import validate_schema

from flowruns.api import urls
from tests.support.openapi import documented_path, generate_document

pytestmark = pytest.mark.django_db


@cache
def port_schema() -> dict:
    schema, warnings = generate_document(urls.urlpatterns)
    assert not warnings, warnings
    return schema


def assert_served_by(response, path: str, method: str) -> None:
    """The response came from the documented operation (the test client checked it against the document)."""
    assert method in port_schema()["paths"][path], (path, method)
    assert documented_path(response.wsgi_request.path_info) == path


def test_it_generates_a_valid_document_without_warnings():
    schema = port_schema()

    validate_schema(schema)
    assert set(schema["paths"]) == {"/api/v1/flow-runs", "/api/v1/flow-runs/{id_}"}
    assert set(schema["paths"]["/api/v1/flow-runs"]) == {"get", "post"}
    assert set(schema["paths"]["/api/v1/flow-runs/{id_}"]) == {"get", "put", "delete"}
    for operations in schema["paths"].values():
        for operation in operations.values():
            assert "422" in operation["responses"] and "401" in operation["responses"]


def test_it_answers_every_call_as_documented(admin_api, viewer_api, client):
    full = {"flowId": "deploy", "flowType": "automation", "phase": "running", "args": {"a": 1}, "outputs": [1],
            "actions": [{"id": "build", "phase": None}], "logs": [{"message": "hi", "action": "build"}],
            "tags": [{"key": "env", "value": "prod"}]}
    one, many = "/api/v1/flow-runs/{id_}", "/api/v1/flow-runs"
    calls = [
        (admin_api.put("/api/v1/flow-runs/r1", full, format="json"), one, "put"),
        (admin_api.put("/api/v1/flow-runs/r1", {**full, "phase": None}, format="json"), one, "put"),
        (admin_api.post(many, {"flowId": "text"}, format="json"), many, "post"),
        (admin_api.post(many, {"flowId": "BAD"}, format="json"), many, "post"),
        (admin_api.post(many, {"id": "r1", "flowId": "x"}, format="json"), many, "post"),
        (admin_api.get(many), many, "get"),
        (admin_api.get(many, {"limit": 1}), many, "get"),
        (admin_api.get(many, {"phase": "nope"}), many, "get"),
        (admin_api.get("/api/v1/flow-runs/r1"), one, "get"),
        (admin_api.get("/api/v1/flow-runs/missing"), one, "get"),
        (viewer_api.delete("/api/v1/flow-runs/r1"), one, "delete"),
        (client.get(many), many, "get"),
        (admin_api.delete("/api/v1/flow-runs/r1"), one, "delete"),
    ]
    assert [response.status_code for response, _, _ in calls] == [
        201, 200, 201, 422, 409, 200, 200, 422, 200, 404, 403, 401, 200]
    for response, path, method in calls:
        assert_served_by(response, path, method)


def test_it_serves_the_port_paths_in_the_api_schema(client):
    response = client.get("/api/schema/", {"format": "json"})

    assert response.status_code == 200
    paths = response.json()["paths"]
    assert set(paths["/api/v1/flow-runs"]) >= {"get", "post"}
    assert set(paths["/api/v1/flow-runs/{id_}"]) >= {"get", "put", "delete"}
    assert paths["/api/v1/flow-runs/{id_}"]["put"]["operationId"] == "port_upsert_flow_run"
