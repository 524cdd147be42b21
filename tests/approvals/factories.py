"""Workflows with an approval task, and approvals made the only way there is: an execution reaching one."""

from __future__ import annotations

import factory

from approvals.models import Approval, ApprovalStatus
from executions.models import ExecutionStatus
from tests.executions.factories import ExecutionFactory
from tests.workflows.factories import WorkflowFactory


def approval_tasks(approval: dict) -> list[dict]:
    """prepare -> approve (an approval task configured by ``approval``) -> answer (returns the decision)."""
    config = {"title": "Expense of {{ input.amount }}",
              "instructions": "Check that {{ input.amount }} follows the travel policy.", **approval}
    return [
        {"name": "prepare", "type": "set", "config": {"values": {"amount": "{{ input.amount }}"}}},
        {"name": "approve", "type": "approval", "depends_on": ["prepare"], "config": config},
        {"name": "answer", "type": "response", "depends_on": ["approve"],
         "config": {"value": {"decision": "{{ tasks.approve.output.decision }}",
                              "by": "{{ tasks.approve.output.decided_by }}",
                              "form": "{{ tasks.approve.output.form }}"}}},
    ]


def routing_tasks(approval: dict) -> list[dict]:
    """An approval that continues when rejected, and a condition routing on its decision (book or refund)."""
    return [
        {"name": "approve", "type": "approval",
         "config": {"title": "Route me", **approval, "on_reject": "continue"}},
        {"name": "route", "type": "condition", "depends_on": ["approve"],
         "config": {"if": "tasks.approve.output.decision == 'approved'", "then": ["book"], "else": ["refund"]}},
        {"name": "book", "type": "response", "depends_on": ["route"], "config": {"value": "booked"}},
        {"name": "refund", "type": "response", "depends_on": ["route"], "config": {"value": "refunded"}},
    ]


class ApprovalWorkflowFactory(WorkflowFactory):
    """An expense workflow around one approval task, whose config ``approval`` adds to or overrides.

    ``routing=True``: the approval continues when rejected and a condition routes on its decision.
    """

    class Params:
        approval = factory.Dict({})
        routing = False
        tasks = factory.LazyAttribute(
            lambda workflow: (routing_tasks if workflow.routing else approval_tasks)(workflow.approval))


class ApprovalFactory(factory.Factory):
    """The pending approval of an execution of ``workflow`` that ``caller`` started and the engine ran to it.

    Without a ``workflow``, an ApprovalWorkflowFactory one is made (in ``project``, with ``approval``
    and ``routing``). The execution is ``approval.execution``.
    """

    class Meta:
        model = Approval

    class Params:
        project = None
        approval = factory.Dict({})
        routing = False

    workflow = factory.Maybe(
        "project",
        yes_declaration=factory.SubFactory(
            ApprovalWorkflowFactory, project=factory.SelfAttribute("..project"),
            approval=factory.SelfAttribute("..approval"), routing=factory.SelfAttribute("..routing")),
        no_declaration=factory.SubFactory(
            ApprovalWorkflowFactory, approval=factory.SelfAttribute("..approval"),
            routing=factory.SelfAttribute("..routing")),
    )
    caller = None
    input = factory.Dict({"amount": 120})

    @classmethod
    def _create(cls, model_class, **kwargs):
        execution = ExecutionFactory(run=True, **kwargs)
        assert execution.status == ExecutionStatus.WAITING, (execution.status, execution.errors)
        return Approval.objects.get(execution=execution, status=ApprovalStatus.PENDING)
