"""An API key's admin page: the once-shown key with a Copy button, and a Revoke button."""

from __future__ import annotations

import re

import pytest

from accounts.models import ApiKey, Role
from tests.accounts.factories import ApiKeyFactory
from tests.support.clients import APIClient

pytestmark = pytest.mark.django_db


def test_the_new_key_comes_in_a_field_with_a_copy_button(admin_client, tenant_a):
    response = admin_client.post("/admin/accounts/apikey/add/", {
        "tenant": str(tenant_a.id), "name": "ci", "role": "workflow", "expires_at_0": "", "expires_at_1": "",
    }, follow=True)
    body = response.content.decode()
    field = re.search(r'<input id="fg-new-key" class="fg-mono" readonly value="(fg_[^"]+)"', body)
    assert field is not None
    assert '<button type="button" class="fg-button fg-small" data-copy-target="fg-new-key">Copy</button>' in body
    assert "flowgate-console.js" in body
    assert APIClient().get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {field.group(1)}").status_code == 200


def test_the_revoke_button_revokes_through_the_service(admin_client, tenant_a):
    key = ApiKeyFactory(tenant=tenant_a, name="leaked", role=Role.ADMIN)
    page = admin_client.get(f"/admin/accounts/apikey/{key.pk}/change/").content.decode()
    assert f'action="/admin/accounts/apikey/{key.pk}/revoke/"' in page

    response = admin_client.post(f"/admin/accounts/apikey/{key.pk}/revoke/", follow=True)
    assert response.redirect_chain == [(f"/admin/accounts/apikey/{key.pk}/change/", 302)]
    assert "is revoked: requests with it now answer 401" in response.content.decode()
    assert 'data-testid="key-state"' in response.content.decode()  # no second Revoke button
    assert ApiKey.objects.get(pk=key.pk).revoked_at is not None
    assert APIClient().get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {key.secret}").status_code == 401

    again = admin_client.post(f"/admin/accounts/apikey/{key.pk}/revoke/", follow=True)
    assert "was already revoked" in again.content.decode()


def test_revoking_needs_a_post_and_a_signed_in_operator(admin_client, client, tenant_a):
    key = ApiKeyFactory(tenant=tenant_a, name="kept", role=Role.ADMIN)
    assert admin_client.get(f"/admin/accounts/apikey/{key.pk}/revoke/").status_code == 405
    response = client.post(f"/admin/accounts/apikey/{key.pk}/revoke/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    assert ApiKey.objects.get(pk=key.pk).revoked_at is None
