"""Deciding is concurrency-safe: of many simultaneous decisions exactly one wins, and the execution
resumes exactly once. Real concurrency on PostgreSQL: threads with their own connections, and
real HTTP requests against a live server with a real worker."""

import json
import threading
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from accounts.models import Role
from approvals import services
from approvals.models import Approval, ApprovalDecision
from config.errors import Conflict
from executions.models import Execution, Log
from tests.accounts.factories import ApiKeyFactory, key_caller, user_caller
from tests.approvals.factories import ApprovalFactory, ApprovalWorkflowFactory
from tests.conftest import wait_until
from tests.executions.factories import ExecutionFactory

RACERS = 20




def assert_resumed_once(execution: Execution) -> None:
    assert Log.objects.filter(execution=execution, message="Execution resumed.").count() == 1
    runs = {tr.name: tr for tr in execution.task_runs.all()}
    assert runs["route"].attempts == 1
    assert sorted(tr.status for name, tr in runs.items() if name in ("book", "refund")) == ["skipped", "succeeded"]
    assert ApprovalDecision.objects.filter(approval__execution=execution).count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_it_lets_exactly_one_of_twenty_concurrent_deciders_win(tenant_a, project_a, walter):
    approval = ApprovalFactory(project=project_a, routing=True, caller=user_caller(walter))
    execution = approval.execution
    callers = [key_caller(tenant_a, Role.ADMIN) for _ in range(RACERS)]
    start = threading.Barrier(RACERS)

    def race(index: int) -> str:
        try:
            start.wait(timeout=30)
            services.decide_approval(approval, callers[index], "approve" if index % 2 else "reject")
            return "won"
        except Conflict:
            return "conflict"
        finally:
            connection.close()  # each thread has its own connection

    with ThreadPoolExecutor(max_workers=RACERS) as pool:
        results = list(pool.map(race, range(RACERS)))
    assert sorted(results) == ["conflict"] * (RACERS - 1) + ["won"]
    execution.refresh_from_db()
    assert execution.status == "succeeded"
    assert_resumed_once(execution)
    approval.refresh_from_db()
    assert approval.status in ("approved", "rejected")


def http_post(url: str, secret: str) -> int:
    request = urllib.request.Request(url, data=json.dumps({"comment": "race"}).encode(), method="POST",
                                     headers={"Authorization": f"Bearer {secret}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


@pytest.mark.e2e
@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_it_answers_one_200_and_nineteen_409_to_a_burst_of_requests(live_server, live_worker, tenant_a, project_a,
                                                                    walter):
    workflow = ApprovalWorkflowFactory(project=project_a, routing=True)
    execution = ExecutionFactory(caller=user_caller(walter), workflow=workflow)
    approval = wait_until(lambda: Approval.objects.filter(execution=execution, status="pending").first(), timeout=60)
    secrets = [ApiKeyFactory(tenant=tenant_a, role=Role.ADMIN).secret for _ in range(RACERS)]
    start = threading.Barrier(RACERS)

    def race(index: int) -> int:
        start.wait(timeout=30)
        action = "approve" if index % 2 else "reject"
        return http_post(f"{live_server.url}/api/v1/approvals/{approval.id}/{action}/", secrets[index])

    with ThreadPoolExecutor(max_workers=RACERS) as pool:
        codes = list(pool.map(race, range(RACERS)))
    assert sorted(codes) == [200] + [409] * (RACERS - 1)
    finished = wait_until(lambda: Execution.objects.filter(pk=execution.pk, status="succeeded").first(), timeout=60)
    assert_resumed_once(finished)
