"""Retention: rules per tenant and workflow, the purge in batches, its archive and ``manage.py purge``."""

from __future__ import annotations

import gzip
import io
import json
import threading
from datetime import timedelta

import pytest
from botocore.stub import ANY, Stubber
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.utils import timezone

from approvals.models import Approval
from executions import retention
from executions.archive import DirectoryArchive, S3Archive
from executions.models import Execution, ExecutionStatus, Log, TaskRun
from executions.services import retry_execution
from flowruns import services as flow_runs
from flowruns.models import FlowRun, FlowRunExecution
from tests.accounts.factories import key_caller
from tests.approvals.factories import ApprovalFactory
from tests.conftest import on_postgres, wait_until
from tests.executions.factories import ExecutionFactory
from tests.workflows.factories import WorkflowFactory

pytestmark = pytest.mark.django_db

LIVE = (ExecutionStatus.QUEUED, ExecutionStatus.RUNNING, ExecutionStatus.WAITING)
FINISHED = (ExecutionStatus.SUCCEEDED, ExecutionStatus.FAILED, ExecutionStatus.CANCELLED)


def two_tasks(project, name=None):
    return WorkflowFactory(project=project, tasks=[{"name": "a", "type": "log", "config": {"message": "x"}},
                                                   {"name": "b", "type": "log", "config": {"message": "y"},
                                                    "depends_on": ["a"]}],
                           **({"name": name} if name else {}))


def aged(workflow, days: float, status: str = ExecutionStatus.SUCCEEDED, **extra) -> Execution:
    """An execution started ``days`` ago (and ended then, when ``status`` is a finished one)."""
    execution = ExecutionFactory(workflow=workflow, **extra)
    moment = timezone.now() - timedelta(days=days)
    Execution.objects.filter(pk=execution.pk).update(
        status=status, created_at=moment, ended_at=moment if status in FINISHED else None)
    return execution


def left(*executions) -> set:
    return set(Execution.objects.filter(pk__in=[e.pk for e in executions]).values_list("pk", flat=True))


def test_it_never_touches_queued_running_or_waiting_executions(project_a):
    workflow = two_tasks(project_a)
    live = [aged(workflow, 400, status) for status in LIVE]
    done = [aged(workflow, 400, status) for status in FINISHED]

    counts = retention.purge(older_than=timedelta(days=30))

    assert counts["executions"] == 3
    assert left(*live, *done) == {e.pk for e in live}
    assert TaskRun.objects.filter(execution__in=live).count() == 6 and Log.objects.filter(execution__in=live).exists()
    assert not TaskRun.objects.filter(execution_id__in=[e.pk for e in done]).exists()
    assert not Log.objects.filter(execution_id__in=[e.pk for e in done]).exists()


def test_it_keeps_what_ended_more_recently_than_the_cutoff(project_a):
    workflow = two_tasks(project_a)
    old, recent = aged(workflow, 31), aged(workflow, 29)

    retention.purge(older_than=timedelta(days=30))

    assert left(old, recent) == {recent.pk}


def test_a_workflows_rule_wins_over_its_tenants_and_forever_keeps(project_a, tenant_a, tenant_b, project_b, settings):
    plain, longer, forever = two_tasks(project_a), two_tasks(project_a), two_tasks(project_a)
    other_tenant = two_tasks(project_b)
    retention.set_retention(tenant_a, 30)
    retention.set_retention(tenant_a, 90, workflow=longer)
    retention.set_retention(tenant_a, None, workflow=forever)
    sixty = [aged(plain, 60), aged(longer, 60), aged(forever, 60), aged(other_tenant, 60)]
    ancient = [aged(longer, 100), aged(forever, 1000)]

    retention.purge()

    assert left(*sixty, *ancient) == {sixty[1].pk, sixty[2].pk, sixty[3].pk, ancient[1].pk}
    settings.FLOWGATE_RETENTION_DAYS = 45  # tenants without a rule of their own
    retention.purge()
    assert left(*sixty, *ancient) == {sixty[1].pk, sixty[2].pk, ancient[1].pk}


def test_clearing_a_rule_falls_back_to_the_tenants(project_a, tenant_a):
    workflow = two_tasks(project_a)
    retention.set_retention(tenant_a, 10)
    retention.set_retention(tenant_a, None, workflow=workflow)
    execution = aged(workflow, 20)
    retention.purge()
    assert left(execution)

    retention.clear_retention(tenant_a, workflow=workflow)
    retention.purge()

    assert not left(execution)


def test_a_rule_refuses_a_workflow_of_another_tenant(project_b, tenant_a):
    with pytest.raises(ValueError, match="another tenant"):
        retention.set_retention(tenant_a, 5, workflow=two_tasks(project_b))


def test_a_child_waits_for_its_parent_and_a_parent_for_its_children(project_a):
    workflow = two_tasks(project_a)
    running_parent, finished_parent = aged(workflow, 400, ExecutionStatus.RUNNING), aged(workflow, 400)
    child_of_running, running_child = aged(workflow, 400), aged(workflow, 400, ExecutionStatus.RUNNING)
    Execution.objects.filter(pk=child_of_running.pk).update(parent=running_parent)
    Execution.objects.filter(pk=running_child.pk).update(parent=finished_parent)

    retention.purge(older_than=timedelta(days=30))

    assert left(running_parent, finished_parent, child_of_running, running_child) == {
        running_parent.pk, finished_parent.pk, child_of_running.pk, running_child.pk}
    Execution.objects.filter(pk=running_child.pk).update(status=ExecutionStatus.SUCCEEDED,
                                                          ended_at=timezone.now() - timedelta(days=400))
    retention.purge(older_than=timedelta(days=30))
    # The finished parent goes, and its child with it (a cascade); the running parent keeps its child.
    assert left(running_parent, finished_parent, child_of_running, running_child) == {
        running_parent.pk, child_of_running.pk}


def test_it_works_in_batches_and_answers_what_it_removed(project_a):
    workflow = two_tasks(project_a)
    old = [aged(workflow, 40 + n) for n in range(7)]

    counts = retention.purge(older_than=timedelta(days=30), batch_size=2)

    assert (counts["executions"], counts["flow_runs"]) == (7, 0) and not left(*old)


def test_approvals_go_with_their_execution_and_into_the_archive(project_a, tmp_path):
    approval = ApprovalFactory(project=project_a)
    execution = approval.execution
    moment = timezone.now() - timedelta(days=40)
    Execution.objects.filter(pk=execution.pk).update(status="cancelled", created_at=moment, ended_at=moment)

    retention.purge(older_than=timedelta(days=30), archive=DirectoryArchive(tmp_path))

    assert not Approval.objects.filter(pk=approval.pk).exists()
    [line] = (tmp_path / "executions" / f"{moment.date().isoformat()}.jsonl").read_text().splitlines()
    archived = json.loads(line)
    assert archived["execution"]["id"] == str(execution.pk)
    assert [run["name"] for run in archived["task_runs"]] == ["prepare", "approve", "answer"]
    assert archived["logs"] and archived["approvals"][0]["id"] == str(approval.pk)
    assert archived["approvals"][0]["decisions"] == []


def test_the_s3_archive_puts_one_gzipped_object_per_day(project_a):
    import boto3

    client = boto3.client("s3", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y")
    archive = S3Archive("flowgate-archive", "prod/", client=client)
    workflow = two_tasks(project_a)
    first, second = aged(workflow, 40), aged(workflow, 41)
    with Stubber(client) as stub:
        for _ in range(2):
            stub.add_response("put_object", {}, {"Bucket": "flowgate-archive", "Key": ANY, "Body": ANY,
                                                 "ContentType": "application/x-ndjson", "ContentEncoding": "gzip"})
        retention.purge(older_than=timedelta(days=30), archive=archive)
        stub.assert_no_pending_responses()
    assert not left(first, second)


def test_the_s3_archive_writes_json_lines_under_the_day(project_a):
    sent = []

    class Client:
        def put_object(self, **kwargs):
            sent.append(kwargs)

    S3Archive("bucket", "prefix", client=Client()).write("executions", {timezone.now().date(): ['{"a":1}', '{"b":2}']})

    [put] = sent
    assert put["Key"].startswith(f"prefix/executions/{timezone.now().date().isoformat()}/")
    assert gzip.decompress(put["Body"]).decode() == '{"a":1}\n{"b":2}\n'


def test_flow_runs_follow_their_tenants_rule(tenant_a, project_a):
    caller = key_caller(tenant_a)
    old = timezone.now() - timedelta(days=40)
    finished = flow_runs.create_flow_run(caller, flow_id="deploy", run_id="done")
    going = flow_runs.create_flow_run(caller, flow_id="deploy", run_id="going")
    reporting = flow_runs.create_flow_run(caller, flow_id="deploy", run_id="reporting")
    FlowRun.objects.filter(pk=finished.pk).update(phase="success", created_at=old, updated_at=old)
    FlowRun.objects.filter(pk=going.pk).update(phase="running", created_at=old, updated_at=old)
    FlowRun.objects.filter(pk=reporting.pk).update(phase="failure", created_at=old, updated_at=old)
    running = aged(two_tasks(project_a), 40, ExecutionStatus.RUNNING)
    FlowRunExecution.objects.create(execution=running, flow_run=reporting)
    retention.set_retention(tenant_a, 30)

    assert retention.purge(dry_run=True) == {"executions": 0, "flow_runs": 1, "flow_run_counts_fixed": 0}
    counts = retention.purge()

    assert counts["flow_runs"] == 1
    assert set(FlowRun.objects.values_list("run_id", flat=True)) == {"going", "reporting"}


def test_the_command_dry_run_counts_and_removes_nothing(project_a):
    workflow = two_tasks(project_a)
    old = aged(workflow, 40)
    out = io.StringIO()

    call_command("purge", "--older-than", "30d", "--dry-run", stdout=out)

    assert "Would remove 1 executions, 0 flow runs, 0 flow run counts fixed" in out.getvalue() and left(old)
    call_command("purge", "--older-than", "30d", stdout=out)
    assert "Removed 1 executions" in out.getvalue() and not left(old)


@pytest.mark.parametrize("argument", ["30", "thirty days", "3 years", "3y"])
def test_the_command_refuses_an_age_it_cannot_read(argument):
    with pytest.raises(CommandError, match="like 30d"):
        call_command("purge", f"--older-than={argument}")


def test_the_command_names_the_tenants_when_one_is_unknown(tenant_a):
    with pytest.raises(CommandError, match="tenants: acme"):
        call_command("purge", "--tenant", "nope")


def test_retrying_a_purged_execution_answers_not_found(project_a):
    execution = aged(two_tasks(project_a), 40, ExecutionStatus.FAILED)
    retention.purge(older_than=timedelta(days=30))

    with pytest.raises(Exception, match="Execution not found"):
        retry_execution(execution)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_row_locked_by_a_worker_is_left_for_the_next_purge(project_a):
    if not on_postgres():
        pytest.skip("row locks need PostgreSQL")
    workflow = two_tasks(project_a)
    held, free = aged(workflow, 40), aged(workflow, 40)
    locked, release = threading.Event(), threading.Event()

    def worker():
        with transaction.atomic():
            Execution.objects.select_for_update().get(pk=held.pk)
            locked.set()
            release.wait(10)
        connection.close()

    thread = threading.Thread(target=worker)
    thread.start()
    try:
        assert locked.wait(10)
        assert retention.purge(older_than=timedelta(days=30))["executions"] == 1
        assert left(held, free) == {held.pk}
    finally:
        release.set()
        thread.join()
    assert retention.purge(older_than=timedelta(days=30))["executions"] == 1 and not left(held)


@pytest.mark.e2e
@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_the_periodic_purge_runs_in_a_worker_and_leaves_running_executions(start_worker, project_a, tenant_a):
    from executions.tasks import purge_message

    workflow = two_tasks(project_a)
    done = [aged(workflow, 40) for _ in range(3)]
    going = [aged(workflow, 40, status) for status in LIVE]
    retention.set_retention(tenant_a, 30)
    start_worker(concurrency=1)

    purge_message.delay()

    wait_until(lambda: not left(*done), timeout=60)
    assert left(*going) == {e.pk for e in going}
