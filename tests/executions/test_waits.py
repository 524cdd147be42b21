"""Synchronous waits: bounded per web process, and never a 500 when the database goes away mid-wait."""

from __future__ import annotations

from unittest import mock

import pytest
from django.db import OperationalError, transaction

from executions import waiters
from executions.models import Execution
from tests.conftest import key_client
from workflows.services import create_workflow

pytestmark = pytest.mark.django_db

SLOW = {"tasks": [{"name": "sleepy", "type": "delay", "config": {"seconds": 3600}}]}


@pytest.fixture
def parked(project_a):
    return create_workflow(project=project_a, name="Parked", alias="parked", definition=SLOW)


def test_past_the_wait_slots_a_request_answers_at_once_with_the_execution(parked, tenant_a, settings):
    settings.FLOWGATE_SYNC_WAIT_SLOTS = 0  # every slot taken
    client = key_client(tenant_a, "workflow")
    with mock.patch.object(waiters, "_wait") as waited:
        response = client.post("/api/v1/executions/?wait=30", {"workflow": "parked"}, format="json")
    assert response.status_code == 202
    assert not waited.called  # it did not hold a thread
    assert Execution.objects.filter(pk=response.json()["id"]).exists()


def test_a_free_slot_is_taken_and_given_back(parked, tenant_a, settings):
    settings.FLOWGATE_SYNC_WAIT_SLOTS = 1
    client = key_client(tenant_a, "workflow")
    for _ in range(3):  # one slot, used in turn: each request waits (briefly) and gives it back
        response = client.post("/api/v1/executions/?wait=0.05", {"workflow": "parked"}, format="json")
        assert response.status_code == 202
    assert waiters.slots.take() is not None


def test_a_database_gone_mid_wait_answers_202_with_the_committed_execution(parked, tenant_a):
    client = key_client(tenant_a, "workflow")
    gone = OperationalError("server closed the connection unexpectedly")
    with mock.patch.object(waiters, "_wait", side_effect=gone), \
            mock.patch("executions.api.views.execution_detail", side_effect=gone):
        response = client.post("/api/v1/executions/?wait=30", {"workflow": "parked"}, format="json")
    assert response.status_code == 202
    body = response.json()
    assert (body["workflow_name"], body["status"]) == ("Parked", "queued")
    assert Execution.objects.filter(pk=body["id"]).exists()


def test_refold_answers_its_id_when_the_database_goes_away_mid_wait(tenant_a, project_a):
    create_workflow(project=project_a, name="Refold parked", alias="refold-parked", definition=SLOW)
    client = key_client(tenant_a, "workflow", header="x-api-key")
    with mock.patch("executions.services.wait_for_execution", side_effect=OperationalError("gone")):
        response = client.post("/api/v1/workflow/refold-parked/execute", {}, format="json",
                               HTTP_SYNC_EXECUTION="true")
    assert response.status_code == 202
    assert Execution.objects.filter(pk=response.json()["execution_id"]).exists()


def test_refold_answers_its_id_at_once_past_the_wait_slots(tenant_a, project_a, settings):
    create_workflow(project=project_a, name="Refold slots", alias="refold-slots", definition=SLOW)
    settings.FLOWGATE_SYNC_WAIT_SLOTS = 0  # every slot taken
    client = key_client(tenant_a, "workflow", header="x-api-key")
    with mock.patch.object(waiters, "_wait") as waited:
        response = client.post("/api/v1/workflow/refold-slots/execute", {}, format="json",
                               HTTP_SYNC_EXECUTION="true")
    assert response.status_code == 202
    assert not waited.called
    assert Execution.objects.filter(pk=response.json()["execution_id"]).exists()


@pytest.mark.django_db(transaction=True)
def test_an_execution_that_ends_wakes_its_waiters_by_notification_after_its_commit(parked, tenant_a):
    """The waiting request is told: PostgreSQL's NOTIFY reaches the listener when the ending commits,
    and an announcement whose transaction rolls back never arrives."""
    if not waiters.notifications_available():
        pytest.skip("the embedded SQLite has no notifications; waits read the row instead")
    client = key_client(tenant_a, "workflow")
    first, second = (client.post("/api/v1/executions/", {"workflow": "parked"}, format="json").json()["id"]
                     for _ in range(2))
    rolled_back, told = waiters.listener.subscribe(first), waiters.listener.subscribe(second)
    try:
        assert waiters.listener.connected.wait(10), "the listener never connected"
        with pytest.raises(RuntimeError), transaction.atomic():
            waiters.announce_end(first)
            raise RuntimeError("the ending is rolled back")
        response = client.post(f"/api/v1/executions/{second}/cancel/")
        assert response.status_code == 200
        assert told.wait(10), "the cancelled execution's waiter was never told"
        # Notifications arrive in commit order: the rolled-back one would have come first.
        assert not rolled_back.is_set()
    finally:
        waiters.listener.unsubscribe(first, rolled_back)
        waiters.listener.unsubscribe(second, told)
