"""Deciding approvals through the service every surface uses: rules, outcomes, n-of-m, four-eyes."""

import pytest
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError

from accounts.models import Role
from approvals import services
from approvals.models import Approval, ApprovalDecision
from config.errors import Conflict
from executions.models import Log
from executions.services import cancel_execution
from tests.accounts.factories import key_caller, user_caller
from tests.approvals.factories import ApprovalFactory, ApprovalWorkflowFactory
from tests.executions.factories import ExecutionFactory

pytestmark = pytest.mark.django_db


def decide(capture, approval, caller, decision, **kwargs):
    with capture(execute=True):
        return services.decide_approval(approval, caller, decision, **kwargs)


def test_it_parks_the_execution_on_a_pending_approval(project_a, alice, april):
    approval = ApprovalFactory(project=project_a, approval={"approvers": {"users": ["april"]}},
                               caller=user_caller(alice))
    execution = approval.execution
    assert approval.title == "Expense of 120"
    assert approval.instructions == "Check that 120 follows the travel policy."
    assert approval.approver_usernames == ["april"]
    assert approval.approver_user_ids == [april.id]
    assert approval.approver_roles == []
    assert execution.task_runs.get(name="approve").status == "waiting"
    assert Log.objects.filter(execution=execution, message__startswith="Approval 'Expense of 120' requested").exists()


def test_it_lets_admins_and_approvers_decide_when_nobody_is_named(project_a, walter):
    approval = ApprovalFactory(project=project_a, caller=user_caller(walter))
    assert approval.approver_roles == ["admin", "approver"]


def test_it_logs_names_it_cannot_resolve(project_a, alice, oscar):
    approval = ApprovalFactory(project=project_a,
                               approval={"approvers": {"users": ["nobody", "oscar"], "roles": ["boss"]}},
                               caller=user_caller(alice))
    execution = approval.execution
    assert approval.approver_user_ids == []  # oscar is a member of another tenant
    warnings = list(Log.objects.filter(execution=execution, level="warning").values_list("message", flat=True))
    assert any("no active member of this tenant is called nobody, oscar" in w for w in warnings)
    assert any("unknown role 'boss'" in w for w in warnings)


def test_it_resumes_the_execution_when_approved(project_a, alice, april, django_capture_on_commit_callbacks):
    approval = ApprovalFactory(project=project_a, approval={"approvers": {"users": ["april"]}},
                               caller=user_caller(alice))
    execution = approval.execution
    decided = decide(django_capture_on_commit_callbacks, approval, user_caller(april), "approve",
                     comment="fine")
    assert decided.status == "approved"
    assert decided.decided_by == april
    assert decided.decided_by_label == "april"
    assert decided.comment == "fine"
    execution.refresh_from_db()
    assert execution.status == "succeeded"
    assert execution.return_value == {"decision": "approved", "by": "april", "form": {}}
    output = execution.task_runs.get(name="approve").output
    assert output["comment"] == "fine"
    assert output["approved_by"] == ["april"]
    assert Log.objects.filter(execution=execution, message="Approval 'Expense of 120' approved by april: fine.").exists()
    assert Log.objects.filter(execution=execution, message="Execution resumed.").count() == 1


def test_it_fails_the_execution_naming_who_rejected_and_why(project_a, alice, april,
                                                           django_capture_on_commit_callbacks):
    approval = ApprovalFactory(project=project_a, approval={"approvers": {"roles": ["approver"]}},
                               caller=user_caller(alice))
    execution = approval.execution
    decide(django_capture_on_commit_callbacks, approval, user_caller(april), "reject",
           comment="too expensive")
    execution.refresh_from_db()
    assert execution.status == "failed"
    assert execution.errors == ["approve: Rejected by april: too expensive"]
    assert execution.task_runs.get(name="answer").status == "skipped"


def test_it_lets_a_condition_route_a_rejection(project_a, alice, april, django_capture_on_commit_callbacks):
    approval = ApprovalFactory(project=project_a, routing=True, caller=user_caller(alice))
    execution = approval.execution
    decide(django_capture_on_commit_callbacks, approval, user_caller(april), "reject", comment="no")
    execution.refresh_from_db()
    assert execution.status == "succeeded"
    assert execution.return_value == "refunded"
    task = execution.task_runs.get(name="approve")
    assert task.status == "succeeded"
    assert task.output["decision"] == "rejected"
    assert task.output["decided_by"] == "april"


@pytest.mark.parametrize("first", ["approve", "reject"])
def test_it_refuses_a_second_decision(project_a, walter, alice, april, first, django_capture_on_commit_callbacks):
    approval = ApprovalFactory(project=project_a, caller=user_caller(walter))
    decide(django_capture_on_commit_callbacks, approval, user_caller(april), first)
    with pytest.raises(Conflict, match=f"already {first.removesuffix('e')}ed by april"):
        decide(django_capture_on_commit_callbacks, approval, user_caller(alice, Role.ADMIN), "approve")
    assert ApprovalDecision.objects.filter(approval=approval).count() == 1


def test_it_needs_the_required_number_of_distinct_approvers(project_a, walter, alice, april,
                                                              django_capture_on_commit_callbacks):
    approval = ApprovalFactory(project=project_a, approval={"required_approvals": 2},
                               caller=user_caller(walter))
    execution = approval.execution
    first = decide(django_capture_on_commit_callbacks, approval, user_caller(april), "approve", comment="ok")
    assert (first.status, first.approvals_count) == ("pending", 1)
    execution.refresh_from_db()
    assert execution.status == "waiting"
    with pytest.raises(Conflict, match="already voted"):
        decide(django_capture_on_commit_callbacks, approval, user_caller(april), "approve")
    second = decide(django_capture_on_commit_callbacks, approval, user_caller(alice), "approve")
    assert (second.status, second.approvals_count, second.decided_by_label) == ("approved", 2, "alice")
    execution.refresh_from_db()
    assert execution.status == "succeeded"
    assert execution.task_runs.get(name="approve").output["approved_by"] == ["april", "alice"]


def test_it_rejects_an_n_of_m_approval_on_any_reject(project_a, walter, alice, april,
                                                     django_capture_on_commit_callbacks):
    approval = ApprovalFactory(project=project_a, approval={"required_approvals": 2},
                               caller=user_caller(walter))
    execution = approval.execution
    decide(django_capture_on_commit_callbacks, approval, user_caller(april), "approve")
    decide(django_capture_on_commit_callbacks, approval, user_caller(alice), "reject", comment="no budget")
    execution.refresh_from_db()
    assert execution.status == "failed"
    assert execution.errors == ["approve: Rejected by alice: no budget"]


def test_it_keeps_the_starter_from_deciding(project_a, walter, april, django_capture_on_commit_callbacks):
    approval = ApprovalFactory(project=project_a, approval={"approvers": {"users": ["walter", "april"]}},
                               caller=user_caller(walter))
    with pytest.raises(PermissionDenied, match="four-eyes"):
        decide(django_capture_on_commit_callbacks, approval, user_caller(walter), "approve")
    assert decide(django_capture_on_commit_callbacks, approval, user_caller(april),
                  "approve").status == "approved"


def test_it_keeps_even_an_admin_starter_from_deciding(project_a, alice, django_capture_on_commit_callbacks):
    approval = ApprovalFactory(project=project_a, caller=user_caller(alice))
    with pytest.raises(PermissionDenied, match="four-eyes"):
        decide(django_capture_on_commit_callbacks, approval, user_caller(alice), "approve")


def test_it_lets_the_starter_decide_when_the_task_allows_it(project_a, walter, django_capture_on_commit_callbacks):
    approval = ApprovalFactory(project=project_a,
                               approval={"approvers": {"users": ["walter"]}, "allow_self_approval": True},
                               caller=user_caller(walter))
    assert decide(django_capture_on_commit_callbacks, approval, user_caller(walter),
                  "approve").status == "approved"


def test_it_keeps_the_starting_key_from_deciding(tenant_a, project_a, django_capture_on_commit_callbacks):
    starter = key_caller(tenant_a, Role.ADMIN, name="starter")
    approval = ApprovalFactory(project=project_a, caller=starter)
    with pytest.raises(PermissionDenied, match="four-eyes"):
        decide(django_capture_on_commit_callbacks, approval, starter, "approve")
    other = key_caller(tenant_a, Role.ADMIN, name="other")
    decided = decide(django_capture_on_commit_callbacks, approval, other, "approve")
    assert (decided.status, decided.decided_by_key, decided.decided_by_label) == ("approved", other.api_key,
                                                                                  "key:other")


@pytest.mark.parametrize(("approvers", "role", "allowed"), [
    ({}, Role.APPROVER, True),
    ({}, Role.WORKFLOW, False),
    ({"roles": ["workflow"]}, Role.WORKFLOW, True),
    ({"users": ["april"]}, Role.APPROVER, False),
    ({}, Role.VIEWER, False),
])
def test_it_lets_keys_decide_by_role(tenant_a, project_a, walter, approvers, role, allowed,
                                     django_capture_on_commit_callbacks):
    approval = ApprovalFactory(project=project_a, approval={"approvers": approvers},
                               caller=user_caller(walter))
    key = key_caller(tenant_a, role)
    assert services.can_decide(approval, key) is allowed
    if allowed:
        assert decide(django_capture_on_commit_callbacks, approval, key, "approve").status == "approved"
    else:
        with pytest.raises(PermissionDenied):
            decide(django_capture_on_commit_callbacks, approval, key, "approve")


def test_it_refuses_a_viewer_and_an_approver_who_is_not_named(project_a, alice, walter, april, victor,
                                                               django_capture_on_commit_callbacks):
    approval = ApprovalFactory(project=project_a, approval={"approvers": {"users": ["alice"]}},
                               caller=user_caller(walter))
    with pytest.raises(PermissionDenied, match=r"role \(viewer\) may only read"):
        decide(django_capture_on_commit_callbacks, approval, user_caller(victor), "approve")
    with pytest.raises(PermissionDenied, match="not an approver of this approval; it may be decided by users alice"):
        decide(django_capture_on_commit_callbacks, approval, user_caller(april), "approve")
    approval.refresh_from_db()
    assert approval.status == "pending"


def test_it_lets_a_member_decide_by_email_from_a_template(project_a, alice, april,
                                                          django_capture_on_commit_callbacks):
    approval = ApprovalFactory(project=project_a, approval={"approvers": {"emails": "{{ input.manager }}"}},
                               caller=user_caller(alice), input={"amount": 5, "manager": "April@Example.com"})
    assert approval.approver_emails == ["april@example.com"]
    assert services.can_decide(approval, user_caller(april))
    assert decide(django_capture_on_commit_callbacks, approval, user_caller(april),
                  "approve").status == "approved"


FORM = [
    {"name": "cost_center", "type": "choice", "choices": ["ops", "sales"], "required": True},
    {"name": "amount", "type": "number", "label": "Approved amount"},
    {"name": "urgent", "type": "boolean"},
    {"name": "note", "type": "text"},
]


def test_it_makes_the_form_values_the_tasks_output(project_a, alice, april, django_capture_on_commit_callbacks):
    approval = ApprovalFactory(project=project_a, approval={"form": FORM}, caller=user_caller(alice))
    execution = approval.execution
    decide(django_capture_on_commit_callbacks, approval, user_caller(april), "approve",
           form_values={"cost_center": "ops", "amount": "99.5", "urgent": "on"})
    execution.refresh_from_db()
    assert execution.return_value["form"] == {"cost_center": "ops", "amount": 99.5, "urgent": True, "note": None}


def test_it_names_every_form_problem(project_a, alice, april, django_capture_on_commit_callbacks):
    approval = ApprovalFactory(project=project_a, approval={"form": FORM, "require_comment": True},
                               caller=user_caller(alice))
    with pytest.raises(ValidationError) as caught:
        decide(django_capture_on_commit_callbacks, approval, user_caller(april), "approve",
               form_values={"amount": "lots", "colour": "red"})
    detail = caught.value.detail
    assert set(detail) == {"comment", "form_values"}
    assert set(detail["form_values"]) == {"cost_center", "amount", "colour"}
    approval.refresh_from_db()
    assert (approval.status, approval.decisions.count()) == ("pending", 0)


@pytest.mark.parametrize("number", [float("inf"), float("nan"), "-inf", "1e400"])
def test_it_refuses_a_number_that_is_not_finite(project_a, alice, april, number, django_capture_on_commit_callbacks):
    approval = ApprovalFactory(project=project_a, approval={"form": FORM}, caller=user_caller(alice))
    with pytest.raises(ValidationError) as caught:
        decide(django_capture_on_commit_callbacks, approval, user_caller(april), "approve",
               form_values={"cost_center": "ops", "amount": number})
    assert caught.value.detail == {"form_values": {"amount": ["Must be a finite number."]}}


def test_it_needs_only_the_comment_to_reject(project_a, alice, april, django_capture_on_commit_callbacks):
    approval = ApprovalFactory(project=project_a, approval={"form": FORM, "require_comment": True},
                               caller=user_caller(alice))
    with pytest.raises(ValidationError, match="comment is required"):
        decide(django_capture_on_commit_callbacks, approval, user_caller(april), "reject")
    assert decide(django_capture_on_commit_callbacks, approval, user_caller(april), "reject",
                  comment="wrong cost center").status == "rejected"


def test_it_refuses_an_unknown_decision(project_a, alice, april):
    approval = ApprovalFactory(project=project_a, caller=user_caller(alice))
    with pytest.raises(ValidationError, match="Use approve or reject"):
        services.decide_approval(approval, user_caller(april), "maybe")


def test_it_cancels_the_approvals_of_a_cancelled_execution(project_a, alice, april,
                                                           django_capture_on_commit_callbacks):
    approval = ApprovalFactory(project=project_a, caller=user_caller(alice))
    execution = approval.execution
    with django_capture_on_commit_callbacks(execute=True):
        cancel_execution(execution, user_caller(alice))
    approval.refresh_from_db()
    assert approval.status == "cancelled"
    with pytest.raises(Conflict, match="cancelled"):
        decide(django_capture_on_commit_callbacks, approval, user_caller(april), "approve")


def test_it_finds_approvals_only_for_callers_of_their_tenant(project_a, alice, oscar):
    approval = ApprovalFactory(project=project_a, caller=user_caller(alice))
    execution = approval.execution
    assert services.get_approval_for(user_caller(alice), approval.id, execution=execution) == approval
    for caller, approval_id in [(user_caller(oscar), approval.id), (user_caller(alice), "not-a-uuid")]:
        with pytest.raises(NotFound):
            services.get_approval_for(caller, approval_id)
    other_execution = ApprovalFactory(project=project_a, caller=user_caller(alice)).execution
    with pytest.raises(NotFound):
        services.get_approval_for(user_caller(alice), approval.id, execution=other_execution)


def test_its_inbox_filter_agrees_with_the_decision_rules(tenant_a, project_a, alice, walter, april, victor):
    configs = [{}, {"approvers": {"users": ["april"]}}, {"approvers": {"roles": ["workflow"]}},
               {"approvers": {"emails": ["walter@example.com"]}}, {"approvers": {"users": ["walter"]},
                                                                   "allow_self_approval": True}]
    approvals = [ApprovalFactory(project=project_a, approval=config, caller=user_caller(walter)) for config in configs]
    callers = [user_caller(alice), user_caller(walter), user_caller(april), user_caller(victor),
               key_caller(tenant_a, Role.APPROVER), key_caller(tenant_a, Role.WORKFLOW)]
    for caller in callers:
        expected = {a.id for a in approvals if services.decide_refusal(a, caller) is None}
        found = set(services.decidable_by(Approval.objects.for_caller(caller), caller).values_list("id", flat=True))
        assert found == expected, caller.label


@pytest.mark.parametrize(("said", "allowed"), [("false", False), ("No", False), ("0", False), ("off", False),
                                               ("true", True), ("yes", True)])
def test_it_reads_a_templated_self_approval_flag_as_true_or_false(project_a, walter, said, allowed):
    config = {"approvers": {"users": ["walter"]}, "allow_self_approval": "{{ input.self_ok }}"}
    approval = ApprovalFactory(project=project_a, approval=config, caller=user_caller(walter),
                               input={"amount": 5, "self_ok": said})
    assert approval.allow_self_approval is allowed
    assert (services.decide_refusal(approval, user_caller(walter)) is None) is allowed


def test_it_reads_a_templated_required_flag_as_true_or_false(project_a, walter, april,
                                                             django_capture_on_commit_callbacks):
    form = [{"name": "receipt", "type": "boolean", "required": "{{ input.strict }}"}]
    approval = ApprovalFactory(project=project_a, approval={"form": form}, caller=user_caller(walter),
                               input={"amount": 5, "strict": "false"})
    assert approval.form[0]["required"] is False
    assert decide(django_capture_on_commit_callbacks, approval, user_caller(april),
                  "approve").status == "approved"


@pytest.mark.parametrize("flag", ["allow_self_approval", "require_comment"])
def test_it_fails_the_task_when_a_flag_is_neither_true_nor_false(project_a, walter, flag):
    workflow = ApprovalWorkflowFactory(project=project_a, approval={flag: "{{ input.flag }}"})
    execution = ExecutionFactory(workflow=workflow, input={"amount": 5, "flag": "maybe"}, caller=user_caller(walter),
                                 run=True)
    assert execution.status == "failed"
    assert f"{flag} must be true or false, not 'maybe'" in execution.errors[0]


@pytest.mark.parametrize("setting, value, message", [
    ("required_approvals", "2.5", "required_approvals must be a whole number, 1 or more, not '2.5'."),
    ("required_approvals", "0", "required_approvals must be a whole number, 1 or more, not '0'."),
    ("expires_in", "inf", "expires_in must be a finite number of seconds, not 'inf'."),
    ("expires_in", "soon", "expires_in must be a finite number of seconds, not 'soon'."),
])
def test_it_fails_the_task_when_a_number_setting_is_not_a_usable_number(project_a, walter, setting, value, message):
    workflow = ApprovalWorkflowFactory(project=project_a, approval={setting: "{{ input.n }}"})
    execution = ExecutionFactory(workflow=workflow, input={"amount": 5, "n": value}, caller=user_caller(walter),
                                 run=True)
    assert execution.status == "failed"
    assert message in execution.errors[0]


def test_it_reads_number_settings_rendered_as_text(project_a, walter):
    workflow = ApprovalWorkflowFactory(project=project_a, approval={"required_approvals": "{{ input.n }}",
                                                                    "expires_in": "{{ input.seconds }}"})
    approval = ApprovalFactory(workflow=workflow, caller=user_caller(walter),
                               input={"amount": 5, "n": "2", "seconds": "90.5"})
    assert approval.required_approvals == 2
    assert (approval.expires_at - approval.requested_at).total_seconds() == 90.5


# -- several at once (the inbox's "Approve selected") ----------------------------------------------------
def test_it_decides_several_approvals_one_by_one_and_says_why_not(project_a, project_b, walter, april, oscar,
                                                                  django_capture_on_commit_callbacks):
    import time_machine

    named = {"approvers": {"users": ["april"]}}
    plain = ApprovalFactory(project=project_a, caller=user_caller(walter), approval=named)
    expiring = ApprovalFactory(project=project_a, caller=user_caller(walter), approval={**named, "expires_in": 60})
    commented = ApprovalFactory(project=project_a, caller=user_caller(walter),
                                approval={**named, "require_comment": True})
    decided = ApprovalFactory(project=project_a, caller=user_caller(walter), approval=named)
    decide(django_capture_on_commit_callbacks, decided, user_caller(april), "reject")
    elsewhere = ApprovalFactory(project=project_b, caller=user_caller(oscar))
    ids = [plain.id, expiring.id, commented.id, decided.id, elsewhere.id, plain.id]
    with time_machine.travel(expiring.expires_at.timestamp() + 1), django_capture_on_commit_callbacks(execute=True):
        outcomes = services.decide_approvals(user_caller(april), ids, "approve")
    assert [(o.approval_id, o.decided) for o in outcomes] == [
        (str(plain.id), True), (str(expiring.id), False), (str(commented.id), False), (str(decided.id), False),
        (str(elsewhere.id), False)]
    reasons = [o.reason for o in outcomes]
    assert reasons[1].startswith("This approval expired at")
    assert reasons[2] == "It asks for a form or a comment; open it to decide."
    assert reasons[3].startswith("This approval was already rejected by april")
    assert reasons[4] == "Approval not found."
    assert outcomes[4].title == str(elsewhere.id)  # another tenant's title is never shown
    statuses = dict(Approval.objects.values_list("id", "status"))
    assert (statuses[plain.id], statuses[expiring.id], statuses[commented.id], statuses[elsewhere.id]) == (
        "approved", "expired", "pending", "pending")
    assert plain.execution.__class__.objects.get(pk=plain.execution_id).status == "succeeded"


def test_it_refuses_an_empty_or_too_large_bulk_decision(april):
    with pytest.raises(ValidationError, match="at least one"):
        services.decide_approvals(user_caller(april), [], "approve")
    with pytest.raises(ValidationError, match="at most 100"):
        services.decide_approvals(user_caller(april), [str(n) for n in range(101)], "approve")
    with pytest.raises(ValidationError, match="approve or reject"):
        services.decide_approvals(user_caller(april), ["x"], "maybe")
