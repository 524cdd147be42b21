"""Time-outs: the sweeper expires overdue approvals and applies each one's outcome."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from approvals import services
from config.errors import Conflict
from executions.models import Log
from executions.services import sweep
from tests.accounts.factories import user_caller
from tests.approvals.factories import ApprovalFactory

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
    approval = ApprovalFactory(project=project_a, approval={"expires_in": 3600, "on_timeout": outcome},
                               caller=user_caller(alice))
    execution = approval.execution
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
    execution = ApprovalFactory(project=project_a, routing=True, caller=user_caller(alice),
                                approval={"expires_in": 60, "on_timeout": "reject"}).execution
    sweep_later(django_capture_on_commit_callbacks)
    execution.refresh_from_db()
    assert (execution.status, execution.return_value) == ("succeeded", "refunded")


def test_it_leaves_approvals_that_are_not_due(project_a, alice, django_capture_on_commit_callbacks):
    approval = ApprovalFactory(project=project_a, approval={"expires_in": 3 * 3600}, caller=user_caller(alice))
    assert sweep_later(django_capture_on_commit_callbacks, hours=2)["expired_approvals"] == 0
    approval.refresh_from_db()
    assert approval.status == "pending"


def test_it_expires_an_overdue_approval_instead_of_deciding_it(project_a, walter, april,
                                                               django_capture_on_commit_callbacks):
    approval = ApprovalFactory(project=project_a, approval={"expires_in": 60, "on_timeout": "fail"},
                               caller=user_caller(walter))
    execution = approval.execution
    with time_machine.travel(timedelta(minutes=2)), pytest.raises(Conflict, match="expired"), \
            django_capture_on_commit_callbacks(execute=True):
        services.decide_approval(approval, user_caller(april), "approve")
    approval.refresh_from_db()
    assert approval.status == "expired"
    assert approval.decisions.count() == 0
    execution.refresh_from_db()
    assert execution.status == "failed"


def test_it_expires_each_approval_once(project_a, alice, django_capture_on_commit_callbacks):
    approval = ApprovalFactory(project=project_a, approval={"expires_in": 60, "on_timeout": "approve"},
                               caller=user_caller(alice))
    execution = approval.execution
    with time_machine.travel(timedelta(hours=1)), django_capture_on_commit_callbacks(execute=True):
        assert services.expire_overdue_approvals(timezone.now()) == 1
        assert services.expire_overdue_approvals(timezone.now()) == 0
        assert services.expire_approval(approval.id) is False
    assert Log.objects.filter(execution=execution, message__contains="on_timeout: approve").count() == 1
