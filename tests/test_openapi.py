"""The OpenAPI document: generated without warnings, and every API response in the tests checked against it.

The test clients (``tests.support.clients``) check each response with ``response_problems``; the
tests below show that a response drifting from the document fails the test that received it.
"""

import re
import uuid
from pathlib import Path

import pytest
from django.core.management import call_command
from django.http import HttpResponse, JsonResponse
from django.test import RequestFactory
from rest_framework.response import Response

from accounts.api.views import MeView, ProjectViewSet
from config.docs import OFFLINE_POLICY
from tests.support.openapi import (
    SchemaMismatch,
    documented_path,
    openapi_document,
    response_problems,
    value_problems,
)
from tests.workflows.factories import WorkflowFactory

TESTS = Path(__file__).resolve().parent
PROJECT_PATH = f"/api/v1/projects/{uuid.uuid4()}/"
PROJECT = {"id": str(uuid.uuid4()), "tenant": str(uuid.uuid4()), "slug": "main", "name": "Main",
           "created_at": "2025-01-20T18:00:00Z"}
NATIVE_ERROR = {"detail": "Method \"POST\" not allowed.", "errors": []}
NO_BODY = object()


def answer(method: str, path: str, status: int, body=NO_BODY) -> HttpResponse:
    """A response to ``method path`` as the test client returns it, without any view running."""
    response = HttpResponse(status=status) if body is NO_BODY else JsonResponse(body, status=status, safe=False)
    response.wsgi_request = RequestFactory().generic(method, path)
    return response


def test_the_schema_generates_without_warnings(tmp_path):
    # --fail-on-warn turns any drf-spectacular warning into an error; --validate checks the document.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))
    assert (tmp_path / "schema.yaml").read_text().startswith("openapi: 3")


@pytest.mark.django_db
def test_the_docs_pages_are_served(client):
    assert client.get("/api/schema/").status_code == 200
    docs = client.get("/api/docs/")
    assert docs.status_code == 200 and b"swagger" in docs.content.lower()
    redoc = client.get("/api/redoc/")
    assert redoc.status_code == 200
    # Fully offline: the browser may fetch from Flowgate's own origin only (tests/test_api_docs_browser.py).
    assert docs["Content-Security-Policy"] == redoc["Content-Security-Policy"] == OFFLINE_POLICY


def test_every_operation_documents_throttling_and_server_errors_in_its_error_shape():
    operations = [operation for methods in openapi_document()["paths"].values() for operation in methods.values()]
    # A surface (tag) answers in one error shape: the one its operations' 401 documents.
    surface_shapes: dict[tuple, dict] = {}

    def shape(response: dict) -> dict:  # the schema of each media type (the examples differ by code)
        return {media_type: media["schema"] for media_type, media in response["content"].items()}

    for operation in operations:
        if "401" in operation["responses"]:
            surface_shapes.setdefault(tuple(operation["tags"]), shape(operation["responses"]["401"]))
    for operation in operations:
        responses = operation["responses"]
        # An operation that needs no credentials (mindzie's unauthorized pings) documents no 401.
        expected = shape(responses["401"]) if "401" in responses else surface_shapes[tuple(operation["tags"])]
        for code in ("429", "500"):
            assert shape(responses[code]) == expected, (operation["operationId"], code)


# -- the check itself ----------------------------------------------------------------------------------
def test_it_accepts_a_response_that_fits_the_document():
    assert response_problems(answer("GET", PROJECT_PATH, 200, PROJECT)) == []


@pytest.mark.parametrize("body, problem", [
    ({**PROJECT, "name": 7}, "name: 7 is not of type 'string'"),
    ({key: value for key, value in PROJECT.items() if key != "slug"}, "<body>: 'slug' is a required property"),
    ({**PROJECT, "secret": "x"}, "<body>: Additional properties are not allowed ('secret' was unexpected)"),
    ({**PROJECT, "id": "not-a-uuid"}, "id: 'not-a-uuid' is not a 'uuid'"),
    ([PROJECT], "<body>: [{"),
])
def test_it_reports_a_body_that_does_not_fit_the_document(body, problem):
    problems = response_problems(answer("GET", PROJECT_PATH, 200, body))
    assert len(problems) == 1 and problem in problems[0], problems
    assert problems[0].startswith("api_v1_projects_retrieve (GET /api/v1/projects/{id}/) answered 200: ")


def test_it_reports_a_status_code_the_operation_does_not_document():
    problems = response_problems(answer("GET", PROJECT_PATH, 418, {"detail": "teapot", "errors": []}))
    assert problems == ["api_v1_projects_retrieve (GET /api/v1/projects/{id}/) answered 418, which it does not "
                        "document (it documents 200, 401, 403, 404, 413, 429, 500, 503)"]


def test_it_reports_a_body_where_the_document_has_none():
    path = f"/api/v1/workflows/{uuid.uuid4()}/"
    assert response_problems(answer("DELETE", path, 204)) == []
    [problem] = response_problems(answer("DELETE", path, 204, {"deleted": True}))
    assert "documents no body for 204" in problem


def test_it_reports_a_body_that_is_not_json():
    response = HttpResponse("<h1>Main</h1>", status=200, content_type="text/html")
    response.wsgi_request = RequestFactory().get(PROJECT_PATH)
    assert response_problems(response) == ["api_v1_projects_retrieve (GET /api/v1/projects/{id}/) answered 200 "
                                           "but the body is text/html, not application/json"]


def test_it_wants_a_405_or_a_documented_refusal_for_a_method_the_document_does_not_list():
    assert response_problems(answer("POST", "/api/v1/projects/", 405, NATIVE_ERROR)) == []
    assert response_problems(answer("POST", "/api/v1/projects/", 403, NATIVE_ERROR)) == []  # roles come first
    [served] = response_problems(answer("POST", "/api/v1/projects/", 201, PROJECT))
    assert "must answer 405 or a refusal the path documents" in served
    [shapeless] = response_problems(answer("POST", "/api/v1/projects/", 405, {"oops": True}))
    assert "in none of the error shapes the path documents" in shapeless


@pytest.mark.parametrize("path", ["/healthz", "/admin/", "/approvals/", "/api/schema/", "/api/v1/no-such-thing/",
                                  "/workflows/x/executions/"])
def test_it_leaves_out_paths_no_documented_operation_serves(path):
    assert response_problems(answer("GET", path, 200, {"anything": True})) is None


def test_it_finds_a_path_with_or_without_the_optional_trailing_slash():
    project = uuid.uuid4()
    assert documented_path(f"/api/v1/projects/{project}") == documented_path(f"/api/v1/projects/{project}/") \
        == "/api/v1/projects/{id}/"
    assert documented_path("/api/v1/workflows/abc123/tasks/678/actions/") == \
        "/api/v1/workflows/{workflow_id}/tasks/{unique_id}/actions"


# -- through the test clients ------------------------------------------------------------------------------
def broken_project(self, request, *args, **kwargs):
    return Response({"id": "not-a-uuid"})


def broken_me(self, request, *args, **kwargs):
    return Response({"role": "owner"})


def test_the_document_is_generated_before_any_test_patches_a_view(monkeypatch):
    monkeypatch.setattr(ProjectViewSet, "retrieve", broken_project)
    assert "404" in openapi_document()["paths"]["/api/v1/projects/{id}/"]["get"]["responses"]


@pytest.mark.django_db
def test_a_response_that_drifts_from_the_document_fails_the_test(admin_api, project_a, monkeypatch):
    monkeypatch.setattr(ProjectViewSet, "retrieve", broken_project)
    with pytest.raises(SchemaMismatch, match=re.escape("api_v1_projects_retrieve (GET /api/v1/projects/{id}/)")):
        admin_api.get(f"/api/v1/projects/{project_a.id}/")


@pytest.mark.django_db
@pytest.mark.openapi_exempt("api_v1_projects_retrieve", reason="the test shows what the marker leaves unchecked")
def test_a_test_may_leave_one_named_operation_unchecked(admin_api, project_a, monkeypatch):
    monkeypatch.setattr(ProjectViewSet, "retrieve", broken_project)
    monkeypatch.setattr(MeView, "get", broken_me)
    assert admin_api.get(f"/api/v1/projects/{project_a.id}/").json() == {"id": "not-a-uuid"}
    with pytest.raises(SchemaMismatch, match="me_retrieve"):
        admin_api.get("/api/v1/me")


def test_tests_build_only_clients_that_check_responses():
    unchecked = re.compile(r"^\s*from (rest_framework\.test|django\.test) import .*\b(API)?Client\b", re.MULTILINE)
    offenders = [str(path.relative_to(TESTS)) for path in TESTS.rglob("*.py")
                 if path != TESTS / "support" / "clients.py" and unchecked.search(path.read_text())]
    assert offenders == []


# -- the native API's main calls --------------------------------------------------------------------------
@pytest.mark.django_db
def test_the_main_native_calls_answer_as_documented(admin_api, project_a, django_capture_on_commit_callbacks):
    workflow = WorkflowFactory(project=project_a, tasks=[
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
    # Each was checked against the document when it arrived; these are the answers the calls should get.
    assert [r.status_code for r in responses] == [201, 200, 200, 200, 200, 200, 200, 200, 200, 404, 400, 409]


# -- written for callers -----------------------------------------------------------------------------------
AREAS = {"executions", "workflows", "approvals", "accounts", "schedules", "webhooks", "records", "actions"}
SURFACES = {"Flowdash", "Port", "Refold", "mindzie", "FlowSynx"}
# Words of Flowgate's code that have no place in what callers read.
DEVELOPER_PHRASES = re.compile(r"get_queryset|get_object|queryset|DRF|TenantQuerySet|docstring|Common ground|"
                               r"async view|``|\bself\b|serializer|documentation only|registry's", re.IGNORECASE)


def operations() -> list[tuple[str, str, dict]]:
    return [(path, method, operation) for path, methods in openapi_document()["paths"].items()
            for method, operation in methods.items() if isinstance(operation, dict) and "responses" in operation]


def examples_of(media: dict) -> list:
    return [example["value"] for example in media.get("examples", {}).values()] + \
        ([media["example"]] if "example" in media else [])


def test_every_operation_has_the_tag_of_its_area_or_product_and_a_summary():
    for path, method, operation in operations():
        assert len(operation["tags"]) == 1 and operation["tags"][0] in AREAS | SURFACES, (path, method, operation["tags"])
        assert operation.get("summary"), (path, method)
    assert {tag for _, _, operation in operations() for tag in operation["tags"]} == AREAS | SURFACES


def test_every_tag_is_described():
    tags = {tag["name"]: tag.get("description", "") for tag in openapi_document()["tags"]}
    assert set(tags) == AREAS | SURFACES
    assert all(len(description) > 30 for description in tags.values()), tags


def test_no_description_holds_notes_meant_for_developers():
    leaks = [(operation["operationId"], operation["description"]) for _, _, operation in operations()
             if DEVELOPER_PHRASES.search(operation.get("description", ""))]
    assert leaks == []


def test_no_schema_or_field_description_holds_notes_meant_for_developers():
    """The components' descriptions (a serializer's docstring, a field's help) are read by callers too."""
    leaks = []

    def walk(where: str, node) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("description"), str) and DEVELOPER_PHRASES.search(node["description"]):
                leaks.append((where, node["description"]))
            for key, value in node.items():
                walk(f"{where}.{key}", value)
        elif isinstance(node, list):
            for index, value in enumerate(node):
                walk(f"{where}[{index}]", value)

    walk("components", openapi_document()["components"]["schemas"])
    assert leaks == []


def test_every_operation_has_a_request_example_for_its_body_and_an_example_of_each_answer_with_a_body():
    for path, method, operation in operations():
        for media_type, media in operation.get("requestBody", {}).get("content", {}).items():
            assert examples_of(media), (operation["operationId"], "request", media_type)
        answers = [(code, media_type, media) for code, response in operation["responses"].items()
                   for media_type, media in (response.get("content") or {}).items()]
        assert answers, (path, method)
        for code, media_type, media in answers:
            assert examples_of(media), (operation["operationId"], code, media_type)


def test_every_json_example_fits_its_schema():
    problems = []
    for _, _, operation in operations():
        bodies = [("request", media) for media in operation.get("requestBody", {}).get("content", {}).values()]
        bodies += [(code, (response.get("content") or {}).get("application/json"))
                   for code, response in operation["responses"].items()]
        for where, media in bodies:
            if media and "schema" in media:
                for value in examples_of(media):
                    problems += [f"{operation['operationId']} {where}: {problem}"
                                 for problem in value_problems(media["schema"], value)]
    assert problems == []


def test_every_operation_with_a_body_or_query_parameters_documents_its_refusals():
    for _, _, operation in operations():
        responses = operation["responses"]
        if "401" not in responses:
            continue  # mindzie's credential-less pings
        if "requestBody" in operation:
            assert "415" in responses, operation["operationId"]
        if any(parameter["in"] == "query" for parameter in operation.get("parameters", [])):
            assert "400" in responses, operation["operationId"]


def test_native_bodies_are_documented_as_json_only():
    for path, _, operation in operations():
        content = operation.get("requestBody", {}).get("content", {})
        if path.startswith("/api/v1/") and content:
            assert list(content) == ["application/json"], (operation["operationId"], list(content))


def test_the_input_of_an_execution_is_a_json_object_with_an_example():
    start = openapi_document()["paths"]["/api/v1/executions/"]["post"]
    [request] = examples_of(start["requestBody"]["content"]["application/json"])
    assert request["input"] == {"amount": 120, "reason": "train"}
    schema = openapi_document()["components"]["schemas"]["StartExecutionRequest"]["properties"]["input"]
    assert schema["type"] == "object" and schema["example"]
    assert value_problems(start["requestBody"]["content"]["application/json"]["schema"],
                          {"workflow": "w", "input": "string"}) == ["input: 'string' is not of type 'object'"]


def test_the_surfaces_show_the_examples_their_documents_publish():
    paths = openapi_document()["paths"]
    refold = paths["/api/v1/execution/{execution_id}/response"]["get"]["responses"]["200"]["content"]
    assert examples_of(refold["application/json"]) == [{
        "response": {"success": "true", "new_note": "This is the updated note content"}, "status": "COMPLETED"}]
    flowsynx = paths["/workflows/{workflowId}/executions"]["post"]
    assert examples_of(flowsynx["requestBody"]["content"]["application/json"]) == [
        {"workflowId": "bed17b37-6ec8-4c33-94c1-9774ce2b92fa"}]
    assert examples_of(flowsynx["responses"]["200"]["content"]["application/json"])[0]["messages"] == [
        "Workflow execution started."]


# -- the docs pages load nothing from outside ------------------------------------------------------------------
URL = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']|(https?:)?//[a-z0-9.-]+\.[a-z]{2,}""", re.IGNORECASE)


@pytest.mark.django_db
@pytest.mark.parametrize("page", ["/api/docs/", "/api/redoc/"])
def test_the_docs_pages_reference_no_outside_host(client, page):
    from django.contrib.staticfiles import finders

    html = client.get(page).content.decode()
    references = [match.group(1) or match.group(0) for match in URL.finditer(html)]
    outside = [reference for reference in references if re.match(r"^(https?:)?//", reference)]
    assert outside == []
    assets = [reference for reference in references if reference.startswith("/static/")]
    assert assets, html  # the UI's scripts come from this server's static files
    for asset in assets:
        assert finders.find(asset.removeprefix("/static/").split("?")[0]), asset
    assert "fonts.googleapis" not in html and "validator.swagger.io" not in html
