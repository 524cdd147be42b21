"""Flowgate projects as mindzie projects: get, list with paging, summary with counts, pings.

The bodies are also read with the models of mindzie's own client (``mindzie_api``), as it reads them.
"""

from __future__ import annotations

import uuid

import pytest
from mindzie_api.models.project import Project, ProjectListResponse, ProjectSummary

from accounts.models import Role
from records.api import urls as records_urls
from tests.accounts.factories import ProjectFactory
from tests.conftest import key_client
from tests.executions.factories import ExecutionFactory
from tests.records.factories import ActionFactory
from tests.support.clients import APIClient
from tests.support.openapi import generate_document
from tests.workflows.factories import WorkflowFactory

pytestmark = pytest.mark.django_db

PROJECT_KEYS = {"ProjectId", "TenantId", "ProjectName", "ProjectDescription", "DateCreated", "DateModified",
                "CreatedBy", "ModifiedBy", "IsActive", "DatasetCount", "InvestigationCount", "DashboardCount",
                "UserCount"}


@pytest.fixture
def projects(tenant_a, project_a):
    """Tenant A's projects by name: Archive, Main (project_a), Zeta."""
    return [ProjectFactory(tenant=tenant_a, name="Zeta", slug="zeta"), project_a,
            ProjectFactory(tenant=tenant_a, name="Archive", slug="archive")]


def test_get_all_lists_the_tenants_projects_by_name(tenant_a, project_a, projects, project_b, alice, walter,
                                                    viewer_api, django_assert_max_num_queries):
    # Queries: the API key, its last-used stamp, COUNT, the page, the tenant's members.
    with django_assert_max_num_queries(5):
        response = viewer_api.get(f"/api/{tenant_a.id}/project")
    assert response.status_code == 200
    body = response.json()
    assert [p["ProjectName"] for p in body["Projects"]] == ["Archive", "Main", "Zeta"]
    assert (body["TotalCount"], body["Page"], body["PageSize"]) == (3, 1, 50)
    main = body["Projects"][1]
    assert set(main) == PROJECT_KEYS
    assert (main["ProjectId"], main["TenantId"], main["IsActive"], main["UserCount"]) == (
        str(project_a.id), str(tenant_a.id), True, 2)
    listed = ProjectListResponse(**body)
    assert [p.project_name for p in listed.projects] == ["Archive", "Main", "Zeta"]
    assert listed.has_next is False


def test_get_all_pages_as_the_client_walks_them(tenant_a, projects, viewer_api):
    page = viewer_api.get(f"/api/{tenant_a.id}/project?page=2&pageSize=2").json()
    assert ([p["ProjectName"] for p in page["Projects"]], page["TotalCount"], page["Page"], page["PageSize"]) == (
        ["Zeta"], 3, 2, 2)
    first = ProjectListResponse(**viewer_api.get(f"/api/{tenant_a.id}/project?page=1&pageSize=2").json())
    assert first.has_next is True
    response = viewer_api.get(f"/api/{tenant_a.id}/project?pageSize=1001")
    assert response.status_code == 400
    assert response.json() == {"error": "pageSize must be a whole number from 1 to 1000; it was '1001'."}


def test_a_project_bound_key_lists_only_its_project(tenant_a, project_a, projects):
    bound = key_client(tenant_a, Role.VIEWER, project=project_a)
    body = bound.get(f"/api/{tenant_a.id}/project").json()
    assert ([p["ProjectName"] for p in body["Projects"]], body["TotalCount"]) == (["Main"], 1)
    assert bound.get(f"/api/{tenant_a.id}/project/{projects[0].id}").status_code == 404


def test_get_by_id_answers_one_project(tenant_a, project_a, viewer_api):
    response = viewer_api.get(f"/api/{tenant_a.id}/project/{project_a.id}")
    assert response.status_code == 200
    project = Project(**response.json())
    assert (project.project_id, project.tenant_id, project.name) == (str(project_a.id), str(tenant_a.id), "Main")


def test_unknown_or_foreign_projects_and_tenants_answer_404(tenant_a, project_a, tenant_b, project_b, viewer_api,
                                                           outsider_api):
    missing = str(uuid.uuid4())
    response = viewer_api.get(f"/api/{tenant_a.id}/project/{missing}")
    assert (response.status_code, response.json()) == (404, {"error": "Project not found", "projectId": missing})
    assert viewer_api.get(f"/api/{tenant_a.id}/project/{project_b.id}").json()["error"] == "Project not found"
    for client, path in ((outsider_api, f"/api/{tenant_a.id}/project"),
                         (outsider_api, f"/api/{tenant_a.id}/project/{project_a.id}"),
                         (outsider_api, f"/api/{tenant_a.id}/project/{project_a.id}/summary"),
                         (viewer_api, f"/api/{tenant_b.id}/project"),
                         (viewer_api, "/api/not-a-guid/project")):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.json()["error"] == "Tenant not found", path
    assert APIClient().get(f"/api/{tenant_a.id}/project").status_code == 401


def test_get_summary_counts_what_the_project_holds(tenant_a, project_a, alice, viewer_api,
                                                   django_assert_max_num_queries):
    workflow = WorkflowFactory(project=project_a, alias="nightly", tasks=[{"name": "n", "type": "log",
                                                                           "config": {"message": "x"}}])
    ActionFactory(project=project_a, name="Refresh", steps={"tasks": [
        {"name": "n", "type": "log", "config": {"message": "x"}}]})
    ExecutionFactory(workflow=workflow)
    ExecutionFactory(workflow=workflow)
    # Queries: the API key, its last-used stamp, the project, members, workflows, actions, executions.
    with django_assert_max_num_queries(7):
        response = viewer_api.get(f"/api/{tenant_a.id}/project/{project_a.id}/summary")
    assert response.status_code == 200
    statistics = response.json()["Statistics"]
    assert statistics == {"TotalDatasets": 0, "TotalInvestigations": 0, "TotalDashboards": 0, "TotalNotebooks": 0,
                          "TotalUsers": 1, "TotalWorkflows": 1, "TotalActions": 1, "TotalExecutions": 2,
                          "TotalExecutionsCapped": False}
    summary = ProjectSummary(**response.json())
    assert (summary.project_name, summary.statistics.total_users) == ("Main", 1)


def test_the_summary_counts_executions_up_to_the_cap_and_says_when_there_are_more(
        tenant_a, project_a, viewer_api, monkeypatch):
    from config import counting

    workflow = WorkflowFactory(project=project_a, tasks=[{"name": "n", "type": "log", "config": {"message": "x"}}])
    for _ in range(3):
        ExecutionFactory(workflow=workflow)
    url = f"/api/{tenant_a.id}/project/{project_a.id}/summary"
    monkeypatch.setattr(counting, "COUNT_CAP", 3)
    statistics = viewer_api.get(url).json()["Statistics"]
    assert (statistics["TotalExecutions"], statistics["TotalExecutionsCapped"]) == (3, False)
    monkeypatch.setattr(counting, "COUNT_CAP", 2)
    statistics = viewer_api.get(url).json()["Statistics"]
    assert (statistics["TotalExecutions"], statistics["TotalExecutionsCapped"]) == (2, True)


# -- pings ------------------------------------------------------------------------------------------------------
def test_the_project_pings(tenant_a, viewer_api, outsider_api):
    response = viewer_api.get(f"/api/{tenant_a.id}/project/ping")
    assert response.json() == {"data": "Ping Successful", "tenantId": str(tenant_a.id)}
    assert outsider_api.get(f"/api/{tenant_a.id}/project/ping").json()["error"] == "Tenant not found"
    assert APIClient().get(f"/api/{tenant_a.id}/project/ping").status_code == 401
    response = APIClient().get(f"/api/{tenant_a.id}/project/unauthorized-ping")
    assert response.json() == {"data": "Ping Successful"}


def test_it_documents_the_project_endpoints_without_warnings():
    schema, warnings = generate_document(records_urls.urlpatterns)
    assert warnings == {}
    for path in ("/api/{tenantId}/project", "/api/{tenantId}/project/{projectId}",
                 "/api/{tenantId}/project/{projectId}/summary", "/api/{tenantId}/project/ping",
                 "/api/{tenantId}/project/unauthorized-ping"):
        assert schema["paths"][path]["get"]["tags"] == ["mindzie"], path
