"""Port's exact total of an unfiltered list comes from counts the services keep with every write."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db.models import Sum
from django.utils import timezone

from accounts.models import Role
from executions import retention
from flowruns import services
from flowruns.models import FlowRun, FlowRunCount
from tests.accounts.factories import key_caller
from tests.conftest import key_client
from tests.executions.factories import ExecutionFactory
from tests.workflows.factories import WorkflowFactory

pytestmark = pytest.mark.django_db

LIST = "/api/v1/flow-runs"


def kept(tenant, project=None) -> int:
    rows = FlowRunCount.objects.filter(tenant=tenant)
    if project is not None:
        rows = rows.filter(project=project)
    return rows.aggregate(total=Sum("count"))["total"] or 0


def test_every_way_of_adding_and_removing_a_run_keeps_the_count(tenant_a, project_a, admin_api):
    caller = key_caller(tenant_a)
    services.create_flow_run(caller, flow_id="deploy", run_id="one")
    services.upsert_flow_run(caller, "two", {"flow_id": "deploy"})
    services.upsert_flow_run(caller, "two", {"flow_id": "deploy", "phase": "success"})  # a replace adds nothing
    assert admin_api.post(LIST, {"flowId": "deploy"}, format="json").status_code == 201
    workflow = WorkflowFactory(project=project_a, tasks=[{"name": "a", "type": "log", "config": {"message": "x"}}])
    ExecutionFactory(caller=caller, workflow=workflow, options={"flow_run": "three"})
    ExecutionFactory(caller=caller, workflow=workflow, options={"flow_run": "three"})  # the same run again
    assert kept(tenant_a) == FlowRun.objects.count() == 4

    services.delete_flow_run(FlowRun.objects.get(run_id="one"))
    assert admin_api.delete(f"{LIST}/two").status_code == 200
    assert kept(tenant_a) == FlowRun.objects.count() == 2
    assert services.recount_flow_runs() == 0  # every phase's count was right too


def test_a_mirrored_execution_moves_its_run_between_phases(tenant_a, project_a, admin_api):
    workflow = WorkflowFactory(project=project_a, tasks=[{"name": "a", "type": "log", "config": {"message": "x"}}])
    ExecutionFactory(caller=key_caller(tenant_a), workflow=workflow, options={"flow_run": "mirrored"}, run=True)
    assert FlowRun.objects.get(run_id="mirrored").phase == "success"

    assert admin_api.get(LIST, {"phase": "success"}).json()["total"] == 1
    assert admin_api.get(LIST, {"phase": "queued"}).json()["total"] == 0
    assert services.recount_flow_runs() == 0


def test_the_unfiltered_total_reads_the_count_and_a_filtered_one_counts(tenant_a, project_a, admin_api,
                                                                       django_assert_max_num_queries):
    caller = key_caller(tenant_a)
    for n in range(3):
        services.create_flow_run(caller, flow_id="deploy" if n else "backup", run_id=f"run-{n}")
    admin_api.get(LIST)  # marks the key as used
    # 1. the API key; 2. the kept counts (a sum of their rows, no COUNT of the runs); 3. the page
    with django_assert_max_num_queries(3) as captured:
        assert admin_api.get(LIST).json()["total"] == 3
    assert not any("COUNT(" in query["sql"] for query in captured.captured_queries)
    assert admin_api.get(LIST, {"flowId": "deploy"}).json()["total"] == 2
    services.upsert_flow_run(caller, "run-1", {"flow_id": "deploy", "phase": "failure"})
    with django_assert_max_num_queries(3) as captured:
        assert admin_api.get(LIST, {"phase": "failure"}).json()["total"] == 1
    assert not any("COUNT(" in query["sql"] for query in captured.captured_queries)


def test_a_project_bound_key_counts_its_projects_runs(tenant_a, project_a):
    bound = key_client(tenant_a, Role.ADMIN, project=project_a)
    assert bound.post(LIST, {"flowId": "deploy", "id": "mine"}, format="json").status_code == 201
    services.create_flow_run(key_caller(tenant_a), flow_id="deploy", run_id="tenant-wide")

    assert bound.get(LIST).json()["total"] == 1 == kept(tenant_a, project_a)
    assert key_client(tenant_a, Role.ADMIN).get(LIST).json()["total"] == 2


def test_the_purge_takes_its_runs_off_the_count(tenant_a):
    caller = key_caller(tenant_a)
    for n in range(3):
        services.create_flow_run(caller, flow_id="deploy", run_id=f"old-{n}")
    old = timezone.now() - timedelta(days=40)
    FlowRun.objects.filter(run_id__in=["old-0", "old-1"]).update(phase="success", created_at=old, updated_at=old)

    retention.purge(older_than=timedelta(days=30))

    assert kept(tenant_a) == FlowRun.objects.count() == 1
    assert services.recount_flow_runs() == 0


def test_a_recount_heals_a_count_that_drifted(tenant_a, tenant_b):
    services.create_flow_run(key_caller(tenant_a), flow_id="deploy", run_id="one")
    services.create_flow_run(key_caller(tenant_b), flow_id="deploy", run_id="two")
    FlowRunCount.objects.filter(tenant=tenant_a).update(count=7)
    FlowRunCount.objects.filter(tenant=tenant_b).delete()

    assert services.recount_flow_runs() == 2

    assert (kept(tenant_a), kept(tenant_b)) == (1, 1)
    assert services.recount_flow_runs() == 0


def test_the_purge_recounts_at_most_once_a_day(tenant_a):
    services.create_flow_run(key_caller(tenant_a), flow_id="deploy", run_id="one")
    FlowRunCount.objects.update(count=5)
    assert retention.purge()["flow_run_counts_fixed"] == 1

    FlowRunCount.objects.update(count=5)
    assert retention.purge()["flow_run_counts_fixed"] == 0  # not again today
    assert services.recount_flow_runs() == 1  # by hand, at any time
