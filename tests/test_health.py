"""API conventions every endpoint relies on: JSON 404 and 500 bodies, and the readiness probe."""

import logging

import pytest
from django.db import OperationalError, connection

from config.celery import app as celery_app
from executions.api.views import ExecutionViewSet
from tests.conftest import free_port

pytestmark = pytest.mark.django_db


def test_it_answers_an_unknown_api_path_with_the_native_404_body(admin_api, settings):
    settings.DEBUG = False
    response = admin_api.get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"detail", "errors"} and "/api/v1/no-such-thing/" in body["detail"]


def test_it_answers_an_unhandled_error_with_a_json_500_and_logs_it(admin_api, settings, monkeypatch, caplog):
    settings.DEBUG = False

    def explode(self, request, *args, **kwargs):
        raise RuntimeError("secret internals: /etc/flowgate/db-password")

    monkeypatch.setattr(ExecutionViewSet, "list", explode)
    with caplog.at_level(logging.ERROR, logger="flowgate.errors"):
        response = admin_api.get("/api/v1/executions/")
    assert response.status_code == 500
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"detail", "errors"} and body["errors"] == []
    text = response.content.decode()
    assert "Traceback" not in text and "secret internals" not in text and "RuntimeError" not in text
    logged = [r for r in caplog.records if r.name == "flowgate.errors"]
    assert logged and logged[0].exc_info and "secret internals" in str(logged[0].exc_info[1])


def test_healthz_answers_without_credentials(client):
    response = client.get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


def test_readyz_answers_200_when_the_database_is_reachable(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"]["database"] == "ok"


def test_readyz_answers_503_when_the_database_is_unreachable(client, monkeypatch):
    def unreachable(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(connection, "cursor", unreachable)
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable" and body["checks"]["database"] == "failing"
    assert any(p.startswith("database unreachable") for p in body["problems"])


def test_readyz_answers_503_when_the_broker_is_unreachable(client, settings, monkeypatch):
    # Readiness skips the broker only when tasks run in-process; point a real check at a closed port.
    settings.CELERY_TASK_ALWAYS_EAGER = False
    monkeypatch.setattr(celery_app.conf, "broker_write_url", f"redis://127.0.0.1:{free_port()}/0")
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["checks"] == {"database": "ok", "broker": "failing"}
    assert any(p.startswith("broker unreachable") for p in body["problems"])
