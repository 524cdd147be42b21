"""How keys are stored and compared."""

from __future__ import annotations

import hmac
from unittest import mock

import pytest
from django.db import connection

from accounts import services
from accounts.models import ApiKey, Role
from tests.accounts.factories import ApiKeyFactory
from tests.support.clients import APIClient

pytestmark = pytest.mark.django_db


def test_it_does_not_store_the_key_in_clear(tenant_a, project_a):
    key, secret = services.create_api_key(tenant_a, "ci", Role.ADMIN, project=project_a)
    random_part = secret.split("_", 2)[2]
    # Every column of the row, as the database holds it.
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {ApiKey._meta.db_table}")
        columns = [c[0] for c in cursor.description]
        rows = cursor.fetchall()
    assert len(rows) == 1
    stored = dict(zip(columns, rows[0], strict=True))
    for column, value in stored.items():
        assert secret not in str(value), f"column {column} holds the key"
        assert random_part not in str(value), f"column {column} holds the key's secret part"
    assert stored["prefix"] == secret.split("_")[1]
    assert len(stored["digest"]) == 64


def test_it_shows_the_key_in_a_recognisable_shape(tenant_a):
    key, secret = services.create_api_key(tenant_a, "ci", Role.ADMIN)
    prefix, key_prefix, rest = secret.split("_", 2)
    assert prefix == "fg"
    assert key_prefix == key.prefix
    assert len(rest) >= 40


def test_it_compares_digests_in_constant_time(tenant_a):
    key = ApiKeyFactory(tenant=tenant_a, role=Role.ADMIN)
    with mock.patch("accounts.services.hmac.compare_digest", wraps=hmac.compare_digest) as compare:
        response = APIClient().get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {key.secret}")
    assert response.status_code == 200
    compare.assert_called_once()


def test_it_compares_in_constant_time_also_for_a_wrong_secret(tenant_a):
    secret = ApiKeyFactory(tenant=tenant_a, role=Role.ADMIN).secret
    with mock.patch("accounts.services.hmac.compare_digest", wraps=hmac.compare_digest) as compare:
        assert services.find_api_key(secret[:-1] + ("x" if secret[-1] != "x" else "y")) is None
    compare.assert_called_once()


def test_it_refuses_a_project_of_another_tenant(tenant_a, project_b):
    with pytest.raises(ValueError, match="another tenant"):
        services.create_api_key(tenant_a, "ci", Role.ADMIN, project=project_b)


def test_it_refuses_an_unknown_role(tenant_a):
    with pytest.raises(ValueError, match="Unknown role"):
        services.create_api_key(tenant_a, "ci", "owner")
