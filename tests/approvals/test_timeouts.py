"""Time-outs: the sweeper expires overdue approvals and applies each one's outcome."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from approvals import services
from config.errors import Conflict
from executions.models import Log
from executions.services import sweep
from tests.approvals.factories import approval_workflow, caller_of, routing_workflow, start_waiting

pytestmark = pytest.mark.django_db


def sweep_later(capture, hours: float = 2):
    with time_machine.travel(timedelta(hours=hours)), capture(execute=True):
        return sweep()


@pytest.mark.parametrize(("outcome", "status", "decision"), [
    ("approve", "succeeded", "approved"),
    ("reject", "failed", "rejected"),
    ("fail", "failed", "expired"),
])
def test_it_applies_the_time_out_outcome(project_a, alice, outcome, status, decision,
                                         django_capture_on_commit_callbacks):
    workflow = approval_workflow(project_a, expires_in=3600, on_timeout=outcome)
    execution, approval = start_waiting(django_capture_on_commit_callbacks, workflow, caller_of(alice))
    assert approval.expires_at is not None
    assert sweep_later(django_capture_on_commit_callbacks)["expired_approvals"] == 1
    approval.refresh_from_db()
    assert (approval.status, approval.decided_by_label) == ("expired", "time-out")
    execution.refresh_from_db()
    assert execution.status == status
    task = execution.task_runs.get(name="approve")
    assert task.output["decision"] == decision
    assert task.output["expired"] is True
    assert Log.objects.filter(execution=execution, message__contains="expired at").filter(
        message__contains=f"on_timeout: {outcome}").exists()


def test_it_lets_a_condition_route_a_timed_out_rejection(project_a, alice, django_capture_on_commit_callbacks):
    workflow = routing_workflow(project_a, expires_in=60, on_timeout="reject")
    execution, _ = start_waiting(django_capture_on_commit_callbacks, workflow, caller_of(alice))
    sweep_later(django_capture_on_commit_callbacks)
    execution.refresh_from_db()
    assert (execution.status, execution.return_value) == ("succeeded", "refunded")


def test_it_leaves_approvals_that_are_not_due(project_a, alice, django_capture_on_commit_callbacks):
    workflow = approval_workflow(project_a, expires_in=3 * 3600)
    _, approval = start_waiting(django_capture_on_commit_callbacks, workflow, caller_of(alice))
    assert sweep_later(django_capture_on_commit_callbacks, hours=2)["expired_approvals"] == 0
    approval.refresh_from_db()
    assert approval.status == "pending"


def test_it_expires_an_overdue_approval_instead_of_deciding_it(project_a, walter, april,
                                                               django_capture_on_commit_callbacks):
    workflow = approval_workflow(project_a, expires_in=60, on_timeout="fail")
    execution, approval = start_waiting(django_capture_on_commit_callbacks, workflow, caller_of(walter))
    with time_machine.travel(timedelta(minutes=2)), pytest.raises(Conflict, match="expired"), \
            django_capture_on_commit_callbacks(execute=True):
        services.decide_approval(approval, caller_of(april), "approve")
    approval.refresh_from_db()
    assert approval.status == "expired"
    assert approval.decisions.count() == 0
    execution.refresh_from_db()
    assert execution.status == "failed"


def test_it_expires_each_approval_once(project_a, alice, django_capture_on_commit_callbacks):
    workflow = approval_workflow(project_a, expires_in=60, on_timeout="approve")
    execution, approval = start_waiting(django_capture_on_commit_callbacks, workflow, caller_of(alice))
    with time_machine.travel(timedelta(hours=1)), django_capture_on_commit_callbacks(execute=True):
        assert services.expire_overdue_approvals(timezone.now()) == 1
        assert services.expire_overdue_approvals(timezone.now()) == 0
        assert services.expire_approval(approval.id) is False
    assert Log.objects.filter(execution=execution, message__contains="on_timeout: approve").count() == 1
