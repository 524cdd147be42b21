"""Roles decide what a caller may do (403); tenants decide what it may see (404)."""

from __future__ import annotations

import uuid

import pytest

from accounts.models import Role
from executions.models import Execution
from tests.accounts.factories import ProjectFactory
from tests.conftest import key_client
from tests.workflows.factories import WorkflowFactory

pytestmark = pytest.mark.django_db


def test_it_forbids_a_viewer_key_to_start_an_execution(viewer_api, project_a):
    workflow = WorkflowFactory(project=project_a, tasks=[{"name": "hi", "type": "log", "config": {"message": "hi"}}])
    response = viewer_api.post("/api/v1/executions/", {"workflow": str(workflow.id), "input": {}}, format="json")
    assert response.status_code == 403
    assert "viewer" in response.json()["detail"]
    assert response.json()["errors"] == []
    assert not Execution.objects.exists()


@pytest.mark.parametrize("role", [Role.VIEWER, Role.APPROVER])
def test_it_forbids_a_role_without_write_access_to_write(tenant_a, project_a, role):
    client = key_client(tenant_a, role)
    response = client.post("/api/v1/projects/", {"name": "New"}, format="json")
    assert response.status_code == 403
    assert f"({role})" in response.json()["detail"]


def test_it_lets_every_role_read_projects(tenant_a, project_a):
    for role in Role.values:
        assert key_client(tenant_a, role).get("/api/v1/projects/").status_code == 200


def test_it_answers_404_for_another_tenants_project(admin_api, project_b):
    response = admin_api.get(f"/api/v1/projects/{project_b.id}")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found.", "errors": []}


def test_it_answers_the_same_404_for_a_project_that_does_not_exist(admin_api):
    missing = admin_api.get(f"/api/v1/projects/{uuid.uuid4()}")
    malformed = admin_api.get("/api/v1/projects/not-a-uuid")
    assert missing.status_code == malformed.status_code == 404
    assert missing.json() == malformed.json()


def test_it_lists_only_the_callers_tenants_projects(admin_api, outsider_api, project_a, project_b):
    ids = [p["id"] for p in admin_api.get("/api/v1/projects/").json()["items"]]
    assert ids == [str(project_a.id)]
    ids = [p["id"] for p in outsider_api.get("/api/v1/projects/").json()["items"]]
    assert ids == [str(project_b.id)]


def test_it_narrows_a_project_bound_key_to_its_project(tenant_a, project_a):
    other = ProjectFactory(tenant=tenant_a, name="Side")
    client = key_client(tenant_a, Role.WORKFLOW, project=other)
    assert [p["slug"] for p in client.get("/api/v1/projects/").json()["items"]] == ["side"]
    assert client.get(f"/api/v1/projects/{project_a.id}").status_code == 404
    assert client.get(f"/api/v1/projects/{other.id}").status_code == 200
    assert client.get("/api/v1/me").json()["project"] == str(other.id)


def test_it_answers_404_for_another_tenants_project_to_a_basic_user(user_api, oscar, project_a):
    response = user_api(oscar).get(f"/api/v1/projects/{project_a.id}")
    assert response.status_code == 404
