"""A database that cannot be reached: 503 with Retry-After in each surface's own shape, never a 500."""

from __future__ import annotations

import logging
from contextlib import contextmanager
from datetime import timedelta
from unittest import mock

import pytest
from django.db import OperationalError
from django.db.backends.utils import CursorWrapper
from django.utils import timezone

from accounts.models import Role
from config import errors
from executions.engine import advance
from executions.leases import DatabaseReach
from executions.models import TaskRun, TaskRunStatus
from executions.services import sweep
from tests.conftest import key_client
from tests.executions.factories import ExecutionFactory
from tests.executions.test_sweeper import one_task
from tests.support.clients import Client

pytestmark = pytest.mark.django_db

REFUSED = OperationalError('connection failed: connection to server at "127.0.0.1", port 5432 failed: '
                           "Connection refused")


@contextmanager
def database_down():
    """Every statement fails as it does when PostgreSQL has gone away."""
    with mock.patch.object(CursorWrapper, "execute", side_effect=REFUSED), \
            mock.patch.object(CursorWrapper, "executemany", side_effect=REFUSED):
        yield


def assert_unavailable(response) -> dict:
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    return response.json()


@pytest.fixture
def api(tenant_a, project_a):
    return key_client(tenant_a, Role.ADMIN)


def test_the_native_api_answers_503_with_retry_after(api):
    with database_down():
        body = assert_unavailable(api.post("/api/v1/executions/", {"workflow": "any"}, format="json"))
    assert body["errors"] == [] and body["detail"].startswith("The database is unavailable")


def test_refold_answers_503_in_its_shape(tenant_a, project_a):
    client = key_client(tenant_a, Role.WORKFLOW, header="x-api-key")
    with database_down():
        body = assert_unavailable(client.post("/api/v1/workflow/any/execute", {}, format="json"))
    assert (body["statusCode"], body["error"]) == (503, "Service Unavailable")
    assert body["message"].startswith("The database is unavailable")


def test_flowsynx_answers_503_in_its_envelope(api, project_a):
    with database_down():
        body = assert_unavailable(api.get("/workflows/00000000-0000-0000-0000-000000000000/executions"))
    assert (body["data"], body["succeeded"]) == (None, False)
    assert body["messages"][0].startswith("The database is unavailable")


def test_port_answers_503_in_its_shape(api):
    with database_down():
        body = assert_unavailable(api.get("/api/v1/flow-runs"))
    assert list(body) == ["detail"] and body["detail"].startswith("The database is unavailable")


def test_mindzie_answers_503_in_its_shape(api, tenant_a, project_a):
    with database_down():
        body = assert_unavailable(api.get(f"/api/{tenant_a.id}/{project_a.id}/action/00000000-0000-0000-0000-000000000000"))
    assert list(body) == ["error"] and body["error"].startswith("The database is unavailable")


def test_flowdash_answers_503_in_its_shape(api):
    with database_down():
        body = assert_unavailable(api.get("/api/v1/workflows/00000000-0000-0000-0000-000000000000/tasks/1/actions"))
    assert body["status"] == "Fail" and body["errors"][0].startswith("The database is unavailable")


def test_a_page_answers_503_with_retry_after(tenant_a, settings):
    settings.DEBUG = False
    client = Client(raise_request_exception=False)
    client.cookies["sessionid"] = "s" * 32  # a session to look up: the page needs the database
    with database_down():
        response = client.get("/approvals/")
    assert response.status_code == 503 and response["Retry-After"] == "5"
    assert b"database is unavailable" in response.content


def test_healthz_answers_without_the_database(client):
    with database_down():
        response = client.get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


def test_readyz_names_the_database_as_the_dependency_that_is_down(client, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True  # the broker is not what this test is about
    with database_down():
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "failing", "broker": "ok"}


def test_an_outage_is_logged_once_not_per_request(api, caplog, monkeypatch):
    monkeypatch.setattr(errors.outage_log, "_next", 0.0)
    with database_down(), caplog.at_level(logging.WARNING, logger="flowgate.errors"):
        for _ in range(5):
            assert api.get("/api/v1/executions/").status_code == 503
    outage_lines = [r for r in caplog.records if "database unavailable" in r.getMessage()]
    assert len(outage_lines) == 1


def test_the_sweeper_gives_expired_leases_a_grace_after_the_database_comes_back(project_a, settings, monkeypatch):
    settings.FLOWGATE_TASK_LEASE_SECONDS = 60
    execution = ExecutionFactory(workflow=one_task(project_a))
    with mock.patch("executions.tasks.run_task_message.apply_async"):
        advance(execution.id)
    # The worker holds the task; its lease ran out while nobody could reach the database.
    TaskRun.objects.filter(execution=execution).update(
        status=TaskRunStatus.RUNNING, attempts=1, dispatched_at=None,
        lease_expires_at=timezone.now() - timedelta(seconds=5))
    reach = DatabaseReach()
    reach.failed()  # this process could not reach the database a moment ago
    monkeypatch.setattr("executions.services.database_reach", reach)
    with mock.patch("executions.tasks.run_task_message.apply_async"):
        assert sweep()["recovered"] == 0
        assert TaskRun.objects.get(execution=execution).status == TaskRunStatus.RUNNING  # time to renew

        reach.last_failure = timezone.now() - timedelta(seconds=61)  # answering for a whole lease period
        assert sweep()["recovered"] == 1
    assert TaskRun.objects.get(execution=execution).status == TaskRunStatus.PENDING
    # Its lease ran out during the outage: the log names the outage, not a lost worker.
    line = execution.logs.filter(level="warning").latest("id").message
    assert "was interrupted during attempt 1 by a database outage" in line and "lost its worker" not in line


def test_a_lease_that_ran_out_long_after_an_outage_means_a_lost_worker(project_a, monkeypatch):
    execution = ExecutionFactory(workflow=one_task(project_a))
    with mock.patch("executions.tasks.run_task_message.apply_async"):
        advance(execution.id)
    TaskRun.objects.filter(execution=execution).update(
        status=TaskRunStatus.RUNNING, attempts=1, dispatched_at=None,
        lease_expires_at=timezone.now() - timedelta(seconds=5))
    reach = DatabaseReach()
    reach.last_failure = timezone.now() - timedelta(hours=1)
    monkeypatch.setattr("executions.services.database_reach", reach)
    with mock.patch("executions.tasks.run_task_message.apply_async"):
        assert sweep()["recovered"] == 1
    line = execution.logs.filter(level="warning").latest("id").message
    assert "lost its worker during attempt 1" in line and "not renewed while the database answered" in line


def test_a_restart_of_postgresql_seen_by_the_sweeper_starts_the_grace(monkeypatch, settings):
    settings.FLOWGATE_TASK_LEASE_SECONDS = 60
    reach = DatabaseReach()
    now = timezone.now()
    assert reach.leases_are_evidence(now) == (True, None)  # the first look: no outage known
    reach._postmaster_started -= timedelta(days=1)  # as if PostgreSQL had started again since
    evidence, answering = reach.leases_are_evidence(now)
    assert answering is not None  # its uptime now bounds the grace
    assert evidence == (answering >= 60)


def test_the_sweep_message_survives_an_unreachable_database(monkeypatch):
    from executions.tasks import sweep_message

    reach = DatabaseReach()
    monkeypatch.setattr("executions.tasks.database_reach", reach)
    with mock.patch("executions.services.sweep", side_effect=REFUSED):
        assert sweep_message.run() == {}
    assert reach.last_failure is not None  # the next sweeps give expired leases their grace


def test_a_message_cut_short_by_the_outage_ends_with_one_warning(monkeypatch, caplog):
    from executions.tasks import advance_message

    reach = DatabaseReach()
    monkeypatch.setattr("executions.tasks.database_reach", reach)
    with mock.patch("executions.engine.advance_and_run", side_effect=REFUSED), \
            caplog.at_level(logging.WARNING, logger="flowgate.engine"):
        advance_message.run("3f1d1c9e-0000-4000-8000-000000000000")  # as a worker runs it: not eager
    assert reach.last_failure is not None
    [line] = [r.getMessage() for r in caplog.records if r.name == "flowgate.engine"]
    assert "the database is unreachable" in line and "the sweeper takes it up again" in line
