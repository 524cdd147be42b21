"""GET /api/v1/me and /api/v1/projects/."""

from __future__ import annotations

import pytest

from accounts.models import Role
from tests.accounts.factories import ProjectFactory
from tests.conftest import key_client

pytestmark = pytest.mark.django_db


def test_it_tells_a_key_who_it_is(tenant_a, project_a):
    client = key_client(tenant_a, Role.APPROVER)
    body = client.get("/api/v1/me").json()
    assert body["tenant"] == {"id": str(tenant_a.id), "slug": "acme", "name": "Acme"}
    assert body["role"] == "approver"
    assert body["user"] is None
    assert body["api_key"].startswith("approver-key-")
    assert body["api_key_prefix"] == client.secret.split("_")[1]
    assert body["project"] is None
    assert (body["can_operate"], body["can_decide"]) == (False, True)


def test_it_tells_a_user_who_they_are(user_api, victor):
    body = user_api(victor).get("/api/v1/me").json()
    assert (body["user"], body["role"], body["api_key"]) == ("victor", "viewer", None)
    assert (body["can_operate"], body["can_decide"]) == (False, False)


def test_it_lists_projects_in_pages(admin_api, tenant_a, project_a, django_assert_num_queries):
    for name in ("Beta", "Alpha", "Gamma"):
        ProjectFactory(tenant=tenant_a, name=name)
    admin_api.get("/api/v1/me")  # the key's first use records last_used_at; later ones within a minute do not
    # 1. the key by prefix (with its tenant)  2. COUNT of the projects  3. the page plus one
    with django_assert_num_queries(3):
        first = admin_api.get("/api/v1/projects/?limit=2").json()
    assert first["total"] == 4
    assert [p["name"] for p in first["items"]] == ["Alpha", "Beta"]
    assert first["previous_page"] is None
    second = admin_api.get(f"/api/v1/projects/?limit=2&cursor={first['next_page']}").json()
    assert [p["name"] for p in second["items"]] == ["Gamma", "Main"]
    assert second["next_page"] is None
    back = admin_api.get(f"/api/v1/projects/?limit=2&cursor={second['previous_page']}").json()
    assert [p["name"] for p in back["items"]] == ["Alpha", "Beta"]


def test_it_shows_one_project(admin_api, project_a, tenant_a):
    for path in (f"/api/v1/projects/{project_a.id}", f"/api/v1/projects/{project_a.id}/"):
        response = admin_api.get(path)
        assert response.status_code == 200
        assert response.json() == {
            "id": str(project_a.id), "tenant": str(tenant_a.id), "slug": "main", "name": "Main",
            "created_at": response.json()["created_at"],
        }


def test_it_refuses_to_write_projects_over_the_api(admin_api):
    response = admin_api.post("/api/v1/projects/", {"name": "New"}, format="json")
    assert response.status_code == 405
    assert response.json()["errors"] == []
