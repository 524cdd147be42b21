"""The operators' admin for tenants, projects, memberships and keys."""

from __future__ import annotations

import hashlib
import re

import pytest
from django.contrib.messages import get_messages

from accounts.models import ApiKey, Role
from tests.accounts.factories import ApiKeyFactory
from tests.support.clients import APIClient

pytestmark = pytest.mark.django_db
KEY_PATTERN = re.compile(r"fg_[0-9a-f]{8}_[A-Za-z0-9_-]+")


@pytest.mark.parametrize("model", ["tenant", "project", "membership", "apikey"])
def test_it_lists_and_offers_to_add_each_model(admin_client, alice, model):
    ApiKeyFactory(tenant=alice.memberships.get().tenant, name="listed", role=Role.ADMIN)
    assert admin_client.get(f"/admin/accounts/{model}/").status_code == 200
    assert admin_client.get(f"/admin/accounts/{model}/add/").status_code == 200
    assert admin_client.get(f"/admin/accounts/{model}/?q=ac").status_code == 200


def test_it_shows_a_new_keys_secret_once_and_stores_only_its_digest(admin_client, tenant_a, project_a):
    response = admin_client.post("/admin/accounts/apikey/add/", {
        "tenant": str(tenant_a.id), "project": str(project_a.id), "name": "deploy bot", "role": "workflow",
        "expires_at_0": "", "expires_at_1": "",
    }, follow=True)
    assert response.redirect_chain == [("/admin/accounts/apikey/", 302)]
    secrets = KEY_PATTERN.findall(response.content.decode())
    assert len(secrets) == 1
    secret = secrets[0]
    key = ApiKey.objects.get(name="deploy bot")
    assert key.prefix == secret.split("_")[1]
    assert key.digest == hashlib.sha256(secret.encode()).hexdigest()
    assert (key.role, key.project_id, key.tenant_id) == ("workflow", project_a.id, tenant_a.id)
    assert key.created_by.username == "admin"
    # The key works, and no page shows the secret again.
    assert APIClient().get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {secret}").status_code == 200
    for url in ("/admin/accounts/apikey/", f"/admin/accounts/apikey/{key.pk}/change/"):
        page = admin_client.get(url).content.decode()
        assert secret not in page
        assert key.digest not in page
        assert key.prefix in page


def test_it_refuses_a_key_for_another_tenants_project(admin_client, tenant_a, project_b):
    response = admin_client.post("/admin/accounts/apikey/add/", {
        "tenant": str(tenant_a.id), "project": str(project_b.id), "name": "wrong", "role": "admin",
        "expires_at_0": "", "expires_at_1": "",
    })
    assert response.status_code == 200
    assert "belongs to another tenant" in response.content.decode()
    assert not ApiKey.objects.filter(name="wrong").exists()


def test_it_revokes_keys_with_an_admin_action(admin_client, tenant_a):
    key = ApiKeyFactory(tenant=tenant_a, name="leaked", role=Role.ADMIN)
    other = ApiKeyFactory(tenant=tenant_a, name="kept", role=Role.ADMIN)
    response = admin_client.post("/admin/accounts/apikey/", {
        "action": "revoke_keys", "_selected_action": [str(key.pk)],
    })
    assert response.status_code == 302
    key.refresh_from_db()
    other.refresh_from_db()
    assert key.revoked_at is not None
    assert other.revoked_at is None
    assert [str(m) for m in get_messages(response.wsgi_request)] == ["Revoked 1 API key."]
    assert APIClient().get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {key.secret}").status_code == 401


def test_it_keeps_a_keys_reach_fixed_after_creation(admin_client, tenant_a):
    key = ApiKeyFactory(tenant=tenant_a, name="ci", role=Role.VIEWER)
    response = admin_client.post(f"/admin/accounts/apikey/{key.pk}/change/", {
        "name": "ci renamed", "role": "admin", "expires_at_0": "", "expires_at_1": "",
    })
    assert response.status_code == 302
    key.refresh_from_db()
    assert (key.name, key.role) == ("ci renamed", "viewer")


def test_the_key_list_costs_the_same_queries_for_many_project_keys(admin_client, tenant_a, project_a,
                                                                   django_assert_max_num_queries):
    for n in range(12):
        ApiKeyFactory(tenant=tenant_a, name=f"bot {n}", role=Role.WORKFLOW, project=project_a)
    with django_assert_max_num_queries(8):
        assert admin_client.get("/admin/accounts/apikey/").status_code == 200
