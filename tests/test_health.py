"""The liveness and readiness probes: /healthz answers while the process runs, /readyz while its database
and broker answer."""

import pytest
from django.db import OperationalError, connection

from config.celery import app as celery_app
from tests.conftest import free_port

pytestmark = pytest.mark.django_db


def test_it_answers_healthz_without_credentials(client):
    response = client.get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


def test_it_answers_readyz_with_200_when_the_database_is_reachable(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"]["database"] == "ok"


def test_it_answers_readyz_with_503_when_the_database_is_unreachable(client, monkeypatch):
    def unreachable(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(connection, "cursor", unreachable)
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable" and body["checks"]["database"] == "failing"
    assert any(p.startswith("database unreachable") for p in body["problems"])


def test_it_answers_readyz_with_503_when_the_broker_is_unreachable(client, settings, monkeypatch):
    # Readiness skips the broker only when tasks run in-process; point a real check at a closed port.
    settings.CELERY_TASK_ALWAYS_EAGER = False
    monkeypatch.setattr(celery_app.conf, "broker_write_url", f"redis://127.0.0.1:{free_port()}/0")
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["checks"] == {"database": "ok", "broker": "failing"}
    assert any(p.startswith("broker unreachable") for p in body["problems"])
