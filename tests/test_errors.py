"""The native error body every API error answers with: an unknown path's 404 and an unexpected failure's 500."""

import logging

import pytest

from executions.api.views import ExecutionViewSet

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
