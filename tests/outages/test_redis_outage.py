"""Redis down: the API keeps accepting executions (the row is the truth), rate limits count per process."""

from __future__ import annotations

import logging

import pytest
from django.core.cache import cache

from accounts.models import Role
from accounts.throttling import counter
from config import cache as cache_module
from config.celery import app as celery_app
from executions import queue
from executions.models import Execution, ExecutionStatus
from tests.conftest import free_port, key_client
from tests.workflows.factories import WorkflowFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def redis_down(settings, monkeypatch):
    """The cache and the broker on a port where nothing listens, as during a Redis outage."""
    dead = f"redis://127.0.0.1:{free_port()}/0"
    settings.CACHES = {"default": {"BACKEND": "config.cache.FailOpenRedisCache", "LOCATION": dead,
                                   "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}}}
    settings.CELERY_TASK_ALWAYS_EAGER = False
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    monkeypatch.setattr(celery_app.conf, "broker_write_url", dead)
    # The app's producer pool is made once, for the broker it first sees: one of the dead broker's own.
    monkeypatch.setattr(celery_app, "_pool", None)
    monkeypatch.setattr(celery_app.amqp, "_producer_pool", None)
    monkeypatch.setattr(counter, "_down_until", 0.0)
    monkeypatch.setattr(queue.outage_log, "_next", 0.0)
    yield dead
    celery_app.conf.task_always_eager = eager
    if celery_app._pool is not None:
        celery_app._pool.force_close_all()


def test_an_execution_is_accepted_while_redis_is_down(redis_down, tenant_a, project_a,
                                                      django_capture_on_commit_callbacks, caplog):
    WorkflowFactory(project=project_a, name="Report", alias="report",
                    tasks=[{"name": "only", "type": "response", "config": {"value": "done"}}])
    client = key_client(tenant_a, Role.WORKFLOW)
    with django_capture_on_commit_callbacks(execute=True), caplog.at_level(logging.WARNING):
        responses = [client.post("/api/v1/executions/", {"workflow": "report"}, format="json") for _ in range(3)]
    assert [r.status_code for r in responses] == [201, 201, 201]
    rows = Execution.objects.filter(pk__in=[r.json()["id"] for r in responses])
    assert [row.status for row in rows] == [ExecutionStatus.QUEUED] * 3  # the sweeper sends them later
    # The rate limits fell back to counting in the process, and said so once, not per request.
    throttle_lines = [r for r in caplog.records if r.name == "flowgate.throttling"]
    assert len(throttle_lines) == 1 and "counting per web process" in throttle_lines[0].getMessage()
    # The broker's outage too: one warning for the three messages that could not be sent.
    queue_lines = [r for r in caplog.records if r.name == "flowgate.queue"]
    assert len(queue_lines) == 1 and "the sweeper sends them once it is back" in queue_lines[0].getMessage()


def test_refold_accepts_an_execution_while_redis_is_down(redis_down, tenant_a, project_a,
                                                         django_capture_on_commit_callbacks):
    WorkflowFactory(project=project_a, name="Sync", alias="sync-report",
                    tasks=[{"name": "only", "type": "response", "config": {"value": "done"}}])
    client = key_client(tenant_a, Role.WORKFLOW, header="x-api-key")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/api/v1/workflow/sync-report/execute", {}, format="json")
    assert response.status_code in (200, 201, 202)
    assert Execution.objects.filter(pk=response.json()["execution_id"], status=ExecutionStatus.QUEUED).exists()


def test_the_cache_answers_as_a_miss_while_redis_is_down(redis_down, caplog, monkeypatch):
    monkeypatch.setattr(cache_module.outage_log, "_next", 0.0)
    with caplog.at_level(logging.WARNING, logger="flowgate.cache"):
        assert cache.get("some-key", "default") == "default"
        assert cache.add("some-key", 1, 60) is False
        assert cache.set("some-key", 1, 60) is None
        assert cache.get_many(["a", "b"]) == {}
    assert len([r for r in caplog.records if r.name == "flowgate.cache"]) == 1  # once, not per call
