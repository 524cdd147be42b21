"""Flow runs in the admin: listed, filtered, searched, read, and deleted through the service."""

from __future__ import annotations

import pytest

from flowruns.models import FlowRun, FlowRunTag
from tests.accounts.factories import key_caller
from tests.flowruns.factories import FlowRunFactory

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/flowruns/flowrun/"


@pytest.fixture
def runs(tenant_a):
    caller = key_caller(tenant_a)
    FlowRunFactory(caller=caller, run_id="deploy-1", flow_id="deploy", flow_type="automation", phase="success",
                   tags=[{"key": "env", "value": "prod"}])
    FlowRunFactory(caller=caller, run_id="backup-1", flow_id="backup", flow_type="scorecard", phase="running")


def listed(admin_client, **params) -> list[str]:
    response = admin_client.get(CHANGELIST, params)
    assert response.status_code == 200
    return sorted(run.run_id for run in response.context["cl"].result_list)


@pytest.mark.parametrize("params, expected", [
    ({}, ["backup-1", "deploy-1"]),
    ({"q": "deploy"}, ["deploy-1"]),
    ({"phase": "running"}, ["backup-1"]),
    ({"flow_type__exact": "automation"}, ["deploy-1"]),
])
def test_it_lists_filters_and_searches(admin_client, runs, params, expected):
    assert listed(admin_client, **params) == expected


def test_it_shows_a_run_read_only(admin_client, runs):
    run = FlowRun.objects.get(run_id="deploy-1")

    response = admin_client.get(f"{CHANGELIST}{run.pk}/change/")

    assert response.status_code == 200
    assert b"deploy-1" in response.content
    assert admin_client.post(f"{CHANGELIST}{run.pk}/change/", {"flow_id": "x"}).status_code == 403
    assert admin_client.get(f"{CHANGELIST}add/").status_code == 403


def test_it_deletes_through_the_service(admin_client, runs):
    ids = list(FlowRun.objects.values_list("pk", flat=True))

    response = admin_client.post(CHANGELIST, {"action": "delete_selected", "_selected_action": ids, "post": "yes"})

    assert response.status_code == 302
    assert not FlowRun.objects.exists() and not FlowRunTag.objects.exists()
