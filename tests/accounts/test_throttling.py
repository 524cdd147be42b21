"""Rate limits answer 429 with the native error body."""

from __future__ import annotations

import pytest
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

pytestmark = pytest.mark.django_db


@pytest.fixture
def tiny_rates(settings, monkeypatch):
    """Two requests a minute per caller and per anonymous address."""
    rates = {"caller": "2/min", "anonymous": "2/min"}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    # The throttle classes read the rates once, at import; point them at the overridden ones.
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", api_settings.DEFAULT_THROTTLE_RATES)
    return rates


def test_it_answers_429_with_the_native_body_when_a_key_is_over_its_rate(tiny_rates, admin_api):
    assert admin_api.get("/api/v1/me").status_code == 200
    assert admin_api.get("/api/v1/me").status_code == 200
    response = admin_api.get("/api/v1/me")
    assert response.status_code == 429
    body = response.json()
    assert set(body) == {"detail", "errors"}
    assert body["errors"] == []
    assert "throttled" in body["detail"].lower()
    assert int(response["Retry-After"]) > 0


def test_it_counts_each_key_separately(tiny_rates, admin_api, workflow_api):
    for _ in range(2):
        admin_api.get("/api/v1/me")
    assert admin_api.get("/api/v1/me").status_code == 429
    assert workflow_api.get("/api/v1/me").status_code == 200


def test_it_limits_guessing_keys_from_one_address(tiny_rates, client):
    # Bad keys are counted per address even though they never authenticate.
    statuses = [client.get("/api/v1/me", HTTP_AUTHORIZATION="Bearer fg_deadbeef_guess").status_code for _ in range(3)]
    assert statuses == [401, 401, 429]


def test_it_limits_requests_without_credentials_from_one_address(tiny_rates, client):
    statuses = [client.get("/api/v1/workflows/").status_code for _ in range(3)]
    assert statuses == [401, 401, 429]
