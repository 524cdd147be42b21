"""Workflows with an approval task, and executions parked on it (through the services)."""

from __future__ import annotations

from accounts.caller import Caller
from approvals.models import Approval
from executions.models import Execution
from tests.executions.factories import make_workflow, run_now


def approval_workflow(project, **config):
    """prepare -> approve (an approval task with ``config``) -> answer (returns the decision)."""
    config.setdefault("title", "Expense of {{ input.amount }}")
    config.setdefault("instructions", "Check that {{ input.amount }} follows the travel policy.")
    return make_workflow(project, [
        {"name": "prepare", "type": "set", "config": {"values": {"amount": "{{ input.amount }}"}}},
        {"name": "approve", "type": "approval", "depends_on": ["prepare"], "config": config},
        {"name": "answer", "type": "response", "depends_on": ["approve"],
         "config": {"value": {"decision": "{{ tasks.approve.output.decision }}",
                              "by": "{{ tasks.approve.output.decided_by }}",
                              "form": "{{ tasks.approve.output.form }}"}}},
    ])


def routing_workflow(project, **config):
    """An approval with on_reject: continue, and a condition routing on its decision."""
    config.setdefault("title", "Route me")
    config["on_reject"] = "continue"
    return make_workflow(project, [
        {"name": "approve", "type": "approval", "config": config},
        {"name": "route", "type": "condition", "depends_on": ["approve"],
         "config": {"if": "tasks.approve.output.decision == 'approved'", "then": ["book"], "else": ["refund"]}},
        {"name": "book", "type": "response", "depends_on": ["route"], "config": {"value": "booked"}},
        {"name": "refund", "type": "response", "depends_on": ["route"], "config": {"value": "refunded"}},
    ])


def caller_of(user, membership_role: str | None = None) -> Caller:
    """The Caller a user's request makes (role from its membership)."""
    membership = user.memberships.select_related("tenant").first()
    return Caller(tenant=membership.tenant, role=membership_role or membership.role, user=user)


def key_caller(tenant, role: str, name: str = "key") -> Caller:
    from accounts.services import create_api_key

    key, _ = create_api_key(tenant, name, role)
    return Caller(tenant=tenant, role=role, api_key=key)


def start_waiting(capture, workflow, caller: Caller | None = None, input: dict | None = None
                  ) -> tuple[Execution, Approval]:
    """Start an execution and run it (eagerly) until it waits on its approval."""
    execution = run_now(capture, workflow, input or {"amount": 120}, caller=caller)
    assert execution.status == "waiting", (execution.status, execution.errors)
    return execution, Approval.objects.get(execution=execution, status="pending")
