"""Each credential kind, and the 401s for every way a credential can be wrong."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from accounts import services
from accounts.models import Role
from tests.accounts.factories import ApiKeyFactory, UserFactory
from tests.conftest import PASSWORD, basic_header
from tests.support.clients import APIClient

pytestmark = pytest.mark.django_db
ME = "/api/v1/me"


def test_it_accepts_a_bearer_key(tenant_a):
    key = ApiKeyFactory(tenant=tenant_a, name="ci", role=Role.WORKFLOW)
    response = APIClient().get(ME, HTTP_AUTHORIZATION=f"Bearer {key.secret}")
    assert response.status_code == 200
    assert response.json()["api_key"] == "ci"
    assert response.json()["role"] == "workflow"


def test_it_accepts_the_key_in_an_x_api_key_header(tenant_a):
    key = ApiKeyFactory(tenant=tenant_a, name="refold client", role=Role.ADMIN)
    response = APIClient().get(ME, HTTP_X_API_KEY=key.secret)
    assert response.status_code == 200
    assert response.json()["api_key"] == "refold client"


def test_it_accepts_http_basic_for_a_member(alice):
    response = APIClient().get(ME, HTTP_AUTHORIZATION=basic_header("alice", PASSWORD))
    assert response.status_code == 200
    assert response.json()["user"] == "alice"
    assert response.json()["role"] == "admin"


def test_it_accepts_a_session_login(client, walter):
    assert client.login(username="walter", password=PASSWORD)
    response = client.get(ME)
    assert response.status_code == 200
    assert response.json()["user"] == "walter"
    assert response.json()["tenant"]["slug"] == "acme"


def test_it_enforces_csrf_on_unsafe_methods_with_a_session(walter):
    client = APIClient(enforce_csrf_checks=True)
    assert client.login(username="walter", password=PASSWORD)
    response = client.post("/api/v1/projects/", {"name": "x"}, format="json")
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]


def test_it_refuses_a_wrong_password_with_401(alice):
    response = APIClient().get(ME, HTTP_AUTHORIZATION=basic_header("alice", "wrong"))
    assert response.status_code == 401
    # DRF names the first accepted scheme; Basic is accepted as well.
    assert response["WWW-Authenticate"] == 'Bearer realm="flowgate"'


@pytest.mark.parametrize("secret", [
    "fg_00000000_not-a-real-key-at-all-0123456789",
    "not-even-shaped-like-a-key",
])
def test_it_refuses_a_wrong_key_with_401(tenant_a, secret):
    response = APIClient().get(ME, HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="flowgate"'
    assert response.json() == {"detail": response.json()["detail"], "errors": []}
    assert "createapikey" in response.json()["detail"]


def test_it_refuses_a_key_with_a_right_prefix_and_wrong_secret(tenant_a):
    key = ApiKeyFactory(tenant=tenant_a, name="ci", role=Role.ADMIN)
    forged = key.secret[:-4] + ("AAAA" if not key.secret.endswith("AAAA") else "BBBB")
    response = APIClient().get(ME, HTTP_AUTHORIZATION=f"Bearer {forged}")
    assert response.status_code == 401


def test_it_refuses_a_revoked_key_with_401(tenant_a):
    key = ApiKeyFactory(tenant=tenant_a, name="old", role=Role.ADMIN)
    assert services.revoke_api_key(key) is True
    for headers in ({"HTTP_AUTHORIZATION": f"Bearer {key.secret}"}, {"HTTP_X_API_KEY": key.secret}):
        response = APIClient().get(ME, **headers)
        assert response.status_code == 401
        assert response.has_header("WWW-Authenticate")


def test_it_revokes_a_key_only_once(tenant_a):
    key = ApiKeyFactory(tenant=tenant_a, name="old", role=Role.ADMIN)
    assert services.revoke_api_key(key) is True
    assert services.revoke_api_key(key) is False


def test_it_refuses_an_expired_key_with_401(tenant_a):
    key = ApiKeyFactory(tenant=tenant_a, name="short-lived", role=Role.ADMIN,
                        expires_at=timezone.now() + timedelta(minutes=5))
    assert APIClient().get(ME, HTTP_AUTHORIZATION=f"Bearer {key.secret}").status_code == 200
    with time_machine.travel(timedelta(minutes=6)):
        response = APIClient().get(ME, HTTP_AUTHORIZATION=f"Bearer {key.secret}")
    assert response.status_code == 401
    assert response.has_header("WWW-Authenticate")


def test_it_answers_401_with_www_authenticate_when_credentials_are_missing(db):
    response = APIClient().get(ME)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="flowgate"'
    assert response.json() == {"detail": "Authentication credentials were not provided.", "errors": []}


def test_it_answers_401_for_a_malformed_bearer_header(db):
    response = APIClient().get(ME, HTTP_AUTHORIZATION="Bearer two parts")
    assert response.status_code == 401
    assert "Bearer <api key>" in response.json()["detail"]


def test_it_answers_403_for_a_user_in_no_tenant(db):
    UserFactory(username="drifter")
    response = APIClient().get(ME, HTTP_AUTHORIZATION=basic_header("drifter", PASSWORD))
    assert response.status_code == 403
    assert "not a member of any tenant" in response.json()["detail"]


def test_it_lets_a_member_of_two_tenants_pick_one_with_a_header(alice, tenant_b):
    services.add_member(tenant_b, alice, Role.VIEWER)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=basic_header("alice", PASSWORD))
    assert client.get(ME, HTTP_X_FLOWGATE_TENANT="globex").json()["role"] == "viewer"
    assert client.get(ME, HTTP_X_FLOWGATE_TENANT="acme").json()["role"] == "admin"


def test_it_records_when_a_key_was_last_used(tenant_a):
    key = ApiKeyFactory(tenant=tenant_a, name="ci", role=Role.ADMIN)
    assert key.last_used_at is None
    APIClient().get(ME, HTTP_AUTHORIZATION=f"Bearer {key.secret}")
    key.refresh_from_db()
    assert key.last_used_at is not None
