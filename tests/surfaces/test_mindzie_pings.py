"""The connectivity checks of mindzie's Python client (its ``ping`` controller), at ``/api/ping/...``."""

from __future__ import annotations

import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from records.api import urls as records_urls
from records.api.mindzie_pings import PING_EXCEPTION
from tests.support.clients import APIClient
from tests.support.openapi import generate_document

pytestmark = pytest.mark.django_db


def upload(content: bytes = b"hello") -> SimpleUploadedFile:
    return SimpleUploadedFile("test.txt", content, content_type="application/octet-stream")


def test_ping_checks_the_credentials(tenant_a, viewer_api):
    response = viewer_api.get("/api/ping/ping")
    assert (response.status_code, response.json()) == (200, {"data": "Ping Successful", "tenantId": str(tenant_a.id)})
    response = APIClient().get("/api/ping/ping")
    assert response.status_code == 401
    assert set(response.json()) == {"error"}
    bad = APIClient()
    bad.credentials(HTTP_AUTHORIZATION="Bearer fg_00000000_nope")
    assert bad.get("/api/ping/ping").status_code == 401


def test_the_unauthorized_ping_needs_no_credentials_and_ignores_bad_ones(db):
    bad = APIClient()
    bad.credentials(HTTP_AUTHORIZATION="Bearer fg_00000000_nope")
    for client in (APIClient(), bad):
        response = client.get("/api/ping/unauthorizedping")
        assert (response.status_code, response.json()) == (200, {"data": "Ping Successful"})


def test_the_pings_with_a_tenant_or_project_need_one_the_credentials_reach(tenant_a, project_a, tenant_b, project_b,
                                                                          viewer_api):
    response = viewer_api.get(f"/api/ping/pingwithtenantidpathparam/{tenant_a.id}")
    assert response.json() == {"data": "Ping Successful", "tenantId": str(tenant_a.id)}
    response = viewer_api.get(f"/api/ping/pingwithprojectidpathparam/{project_a.id}")
    assert response.json() == {"data": "Ping Successful", "tenantId": str(tenant_a.id), "projectId": str(project_a.id)}
    for path, error in ((f"pingwithtenantidpathparam/{tenant_b.id}", "Tenant not found"),
                        ("pingwithtenantidpathparam/not-a-guid", "Tenant not found"),
                        (f"pingwithprojectidpathparam/{project_b.id}", "Project not found"),
                        (f"pingwithprojectidpathparam/{uuid.uuid4()}", "Project not found"),
                        ("pingwithprojectidpathparam/nope", "Project not found")):
        response = viewer_api.get(f"/api/ping/{path}")
        assert (response.status_code, response.json()["error"]) == (404, error), path


def test_the_pings_with_a_body_answer_what_they_received(viewer_api):
    response = viewer_api.generic("GET", "/api/ping/pingwithbodyparam", '{"id": 7, "name": "probe"}',
                                  content_type="application/json")
    assert response.json() == {"data": "Ping Successful", "id": 7, "name": "probe"}
    response = viewer_api.generic("GET", "/api/ping/pingwithpathandbodyparam/42", '{"id": 7, "name": "probe"}',
                                  content_type="application/json")
    assert response.json() == {"data": "Ping Successful", "pathId": 42, "id": 7, "name": "probe"}
    response = viewer_api.generic("GET", "/api/ping/pingwithbodyparam", '{"name": "probe"}',
                                  content_type="application/json")
    assert response.status_code == 400
    assert response.json() == {"error": "Invalid ping: id: This field is required."}
    assert viewer_api.get("/api/ping/pingwithpathandbodyparam/x").json()["error"].startswith("No mindzie endpoint")


def test_the_pings_with_a_file_answer_its_name_and_size(viewer_api):
    response = viewer_api.post("/api/ping/pingwithfileparam", {"file": upload()}, format="multipart")
    assert response.json() == {"data": "Ping Successful", "fileName": "test.txt", "fileSize": 5}
    response = viewer_api.post("/api/ping/pingwithmultipleformparams", {"id": "3", "name": "probe", "file": upload()},
                               format="multipart")
    assert response.json() == {"data": "Ping Successful", "id": 3, "name": "probe", "fileName": "test.txt",
                               "fileSize": 5}
    response = viewer_api.post("/api/ping/pingwithpathandmultipleformparams/9",
                               {"id": "3", "name": "probe", "file": upload(b"")}, format="multipart")
    assert response.status_code == 400 and response.json()["error"].startswith("Invalid ping: file:")
    response = viewer_api.post("/api/ping/pingwithpathandmultipleformparams/9",
                               {"id": "3", "name": "probe", "file": upload(b"x")}, format="multipart")
    assert response.json() == {"data": "Ping Successful", "pathId": 9, "id": 3, "name": "probe",
                               "fileName": "test.txt", "fileSize": 1}
    assert APIClient().post("/api/ping/pingwithfileparam", {"file": upload()}, format="multipart").status_code == 401


def test_an_upload_labelled_json_is_read_as_the_form_data_it_is(viewer_api, monkeypatch):
    """mindzie-api 2.0.0 sends its uploads with its session's Content-Type: application/json."""
    body = (b'--b0undary\r\nContent-Disposition: form-data; name="id"\r\n\r\n3\r\n'
            b'--b0undary\r\nContent-Disposition: form-data; name="name"\r\n\r\nprobe\r\n'
            b'--b0undary\r\nContent-Disposition: form-data; name="file"; filename="test.txt"\r\n'
            b"Content-Type: application/octet-stream\r\n\r\nhello\r\n--b0undary--\r\n")
    response = viewer_api.generic("POST", "/api/ping/pingwithmultipleformparams", body,
                                  content_type="application/json")
    assert response.json() == {"data": "Ping Successful", "id": 3, "name": "probe", "fileName": "test.txt",
                               "fileSize": 5}
    # A body that really is JSON stays JSON (and has no file).
    response = viewer_api.post("/api/ping/pingwithfileparam", {"file": "hello"}, format="json")
    assert (response.status_code, response.json()["error"]) == (400, "Invalid ping: file: The submitted data was "
                                                                     "not a file. Check the encoding type on the form.")
    monkeypatch.setattr("records.api.mindzie_pings.MAX_PING_BYTES", 10)
    response = viewer_api.generic("POST", "/api/ping/pingwithfileparam", body, content_type="application/json")
    assert (response.status_code, response.json()) == (400, {"error": "A ping's body may be at most 10 bytes."})


def test_the_ping_exception_fails_on_purpose(viewer_api):
    response = viewer_api.get("/api/ping/ping-exception")
    assert (response.status_code, response.json()) == (501, {"error": PING_EXCEPTION})
    response = viewer_api.get("/api/ping/unknown")
    assert response.status_code == 404 and response.json()["error"].startswith("No mindzie endpoint at")


def test_it_documents_the_pings_without_warnings():
    schema, warnings = generate_document(records_urls.urlpatterns)
    assert warnings == {}
    for path in ("ping", "unauthorizedping", "ping-exception", "pingwithtenantidpathparam/{tenantId}",
                 "pingwithprojectidpathparam/{projectId}", "pingwithbodyparam", "pingwithpathandbodyparam/{id}"):
        assert schema["paths"][f"/api/ping/{path}"]["get"]["tags"] == ["mindzie"], path
    for path in ("pingwithfileparam", "pingwithmultipleformparams", "pingwithpathandmultipleformparams/{id}"):
        assert schema["paths"][f"/api/ping/{path}"]["post"]["tags"] == ["mindzie"], path
