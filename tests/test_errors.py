"""The native error body every API error answers with: an unknown path's 404 and an unexpected failure's 500."""

import logging

import pytest

from executions.api.views import ExecutionViewSet
from tests.support.clients import Client

pytestmark = pytest.mark.django_db


def test_it_answers_an_unknown_api_path_with_the_native_404_body(admin_api, settings):
    settings.DEBUG = False
    response = admin_api.get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"detail", "errors"} and "/api/v1/no-such-thing/" in body["detail"]


def test_it_answers_an_unhandled_error_with_a_json_500_and_logs_it(admin_api, settings, monkeypatch, caplog):
    settings.DEBUG = False

    def explode(self, request, *args, **kwargs):
        raise RuntimeError("secret internals: /etc/flowgate/db-password")

    monkeypatch.setattr(ExecutionViewSet, "list", explode)
    with caplog.at_level(logging.ERROR, logger="flowgate.errors"):
        response = admin_api.get("/api/v1/executions/")
    assert response.status_code == 500
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"detail", "errors"} and body["errors"] == []
    text = response.content.decode()
    assert "Traceback" not in text and "secret internals" not in text and "RuntimeError" not in text
    logged = [r for r in caplog.records if r.name == "flowgate.errors"]
    assert logged and logged[0].exc_info and "secret internals" in str(logged[0].exc_info[1])


# -- every surface answers in its own error shape, whatever refused the request ---------------------------------
TENANT = "00000000-0000-0000-0000-000000000001"
SOME_ID = "8b9f4b6c-6f1a-4f4e-9d55-2a6f8e6f3b11"


def native_shape(body) -> bool:
    return set(body) == {"detail", "errors"} and isinstance(body["detail"], str)


def flowdash_shape(body) -> bool:
    return set(body) == {"status", "errors"} and body["status"] == "Fail" and body["errors"]


def port_shape(body) -> bool:
    return set(body) == {"detail"}


def refold_shape(body) -> bool:
    return set(body) == {"statusCode", "message", "error"}


def flowsynx_shape(body) -> bool:
    return set(body) == {"data", "messages", "succeeded", "generatedAtUtc"} and body["succeeded"] is False


def mindzie_shape(body) -> bool:
    return "error" in body and isinstance(body["error"], str)


SHAPES = {"native": native_shape, "flowdash": flowdash_shape, "port": port_shape, "refold": refold_shape,
          "flowsynx": flowsynx_shape, "mindzie": mindzie_shape}

# Every operation that takes a body, by surface (the method, and a path; ids need not exist).
BODY_OPERATIONS = [
    ("native", "post", "/api/v1/executions/"),
    ("native", "post", f"/api/v1/executions/{SOME_ID}/cancel/"),
    ("native", "post", f"/api/v1/executions/{SOME_ID}/retry/"),
    ("native", "post", "/api/v1/workflows/"),
    ("native", "put", f"/api/v1/workflows/{SOME_ID}/"),
    ("native", "patch", f"/api/v1/workflows/{SOME_ID}/"),
    ("native", "post", "/api/v1/actions/"),
    ("native", "patch", "/api/v1/actions/edHR10"),
    ("native", "post", "/api/v1/workflows/abc123/tasks/"),
    ("native", "patch", "/api/v1/workflows/abc123/tasks/678"),
    ("native", "post", "/api/v1/workflows/abc123/stages/"),
    ("native", "post", "/api/v1/workflows/abc123/fields/"),
    ("native", "post", f"/api/v1/approvals/{SOME_ID}/approve/"),
    ("native", "post", f"/api/v1/approvals/{SOME_ID}/reject/"),
    ("native", "post", "/api/v1/schedules/"),
    ("native", "post", "/api/v1/webhooks/"),
    ("native", "post", "/api/v1/callback-secrets/"),
    ("flowdash", "post", "/api/v1/workflows/abc123/executions"),
    ("port", "post", "/api/v1/flow-runs"),
    ("port", "put", "/api/v1/flow-runs/run-1"),
    ("refold", "post", "/api/v1/workflow/abc123/execute"),
    ("flowsynx", "post", f"/workflows/{SOME_ID}/executions"),
    ("flowsynx", "post", f"/workflows/{SOME_ID}/executions/{SOME_ID}/cancel"),
    ("flowsynx", "post", f"/workflows/{SOME_ID}/executions/{SOME_ID}/approvals/{SOME_ID}/approve"),
    ("mindzie", "post", "/api/ping/pingwithmultipleformparams"),
]


@pytest.mark.parametrize("surface, method, path", BODY_OPERATIONS)
def test_a_body_over_the_size_limit_answers_413_in_the_surfaces_shape(admin_api, settings, surface, method, path):
    body = '{"input": {"a": "' + "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1) + '"}}'
    response = getattr(admin_api, method)(path, data=body, content_type="application/json")
    assert response.status_code == 413, response.content[:300]
    assert SHAPES[surface](response.json()), response.json()
    assert "2.5 MB" in response.content.decode()


def test_a_body_over_the_size_limit_answers_413_also_when_django_finds_it(admin_api, settings):
    """A body whose Content-Length understates it is refused as it is read, inside the view."""
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10
    response = admin_api.post("/api/v1/executions/", data={"workflow": "abc123", "name": "x" * 100},
                              format="multipart")
    assert response.status_code == 413, response.content[:300]
    assert native_shape(response.json())


UNKNOWN_PATHS = [
    ("native", "/api/v1/no-such-thing/"),
    ("flowdash", "/api/v1/workflows/abc123/executions/x/y"),
    ("flowdash", "/api/v1/workflows/abc123/tasks/678/actions/x"),
    ("port", "/api/v1/flow-runs/a/b"),
    ("refold", "/api/v1/workflow/abc123/nothing"),
    ("refold", "/api/v1/execution/x/y/z"),
    ("flowsynx", f"/workflows/{SOME_ID}/nothing"),
    ("mindzie", f"/api/{TENANT}/{SOME_ID}/action/x/y/z"),
]


@pytest.mark.parametrize("method", ["get", "post", "put", "patch", "delete"])
@pytest.mark.parametrize("surface, path", UNKNOWN_PATHS)
def test_an_unknown_path_answers_the_surfaces_json_404_whatever_the_method(surface, path, method, settings):
    settings.DEBUG = False
    client = Client(enforce_csrf_checks=True)  # as a browser or a script without a CSRF token
    if method == "get":
        response = client.get(path)
    else:
        response = getattr(client, method)(path, data="{}", content_type="application/json")
    assert response.status_code == 404, response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    assert SHAPES[surface](response.json()), response.json()


NUL_PATHS = [
    ("native", "/api/v1/workflows/%00/", 404),
    ("flowdash", "/api/v1/workflows/abc123/executions/a%00", 404),
    ("flowdash", "/api/v1/workflows/abc123/executions/a%00/b", 404),
    ("flowdash", "/api/v1/workflows/abc123/executions?x=%00", 400),
    ("port", "/api/v1/flow-runs/a%00", 404),
    ("port", "/api/v1/flow-runs/a%00/b", 404),
    ("refold", "/api/v1/execution/a%00/response", 404),
    ("refold", "/api/v1/execution/a%00/x/y", 404),
    ("flowsynx", f"/workflows/{SOME_ID}/executions/a%00", 404),
    ("flowsynx", f"/workflows/{SOME_ID}/a%00/b/c/d", 404),
    ("mindzie", f"/api/{TENANT}/{SOME_ID}/action/a%00", 404),
    ("mindzie", f"/api/{TENANT}/{SOME_ID}/action/a%00/b/c", 404),
]


@pytest.mark.parametrize("surface, path, status", NUL_PATHS)
def test_a_nul_character_in_a_path_or_query_answers_in_the_surfaces_shape(admin_api, surface, path, status):
    response = admin_api.get(path)
    assert response.status_code == status, response.content[:300]
    assert SHAPES[surface](response.json()), response.json()
