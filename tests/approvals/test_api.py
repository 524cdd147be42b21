"""The native approval endpoints: /api/v1/approvals/ and /api/v1/executions/{id}/approvals/."""

import uuid
from datetime import timedelta

import pytest
import time_machine
from django.urls import include, path
from django.utils import timezone

from approvals.models import Approval
from executions.models import Execution, TaskRun
from tests.accounts.factories import user_caller
from tests.approvals.factories import ApprovalFactory, ApprovalWorkflowFactory
from tests.conftest import key_client
from tests.support.openapi import generate_document

pytestmark = pytest.mark.django_db

LIST = "/api/v1/approvals/"
ITEM = "/api/v1/approvals/{id}/"
APPROVE = "/api/v1/approvals/{id}/approve/"
REJECT = "/api/v1/approvals/{id}/reject/"
OF_EXECUTION = "/api/v1/executions/{execution_id}/approvals/"


def post(client, capture, template, approval, body=None):
    with capture(execute=True):
        return client.post(template.format(id=approval.id), body or {}, format="json")


@pytest.fixture
def approval(project_a, walter):
    """The approval an execution walter started waits on; admins and approvers may decide it."""
    return ApprovalFactory(project=project_a, caller=user_caller(walter))


def test_it_approves_and_resumes_the_execution(admin_api, approval, django_capture_on_commit_callbacks):
    execution = approval.execution
    response = post(admin_api, django_capture_on_commit_callbacks, APPROVE, approval, {"comment": "looks right"})
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "approved"
    assert body["comment"] == "looks right"
    assert body["decided_by"].startswith("key:")
    assert body["can_decide"] is False
    assert [d["decision"] for d in body["decisions"]] == ["approve"]
    execution.refresh_from_db()
    assert execution.status == "succeeded"


def test_it_rejects_and_fails_the_execution(approver_api, approval, django_capture_on_commit_callbacks):
    execution = approval.execution
    response = post(approver_api, django_capture_on_commit_callbacks, REJECT, approval, {"comment": "no receipt"})
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "rejected"
    execution.refresh_from_db()
    assert execution.status == "failed"
    assert execution.errors[0].endswith(": no receipt")


def test_it_answers_409_to_a_second_decision(admin_api, approver_api, approval, django_capture_on_commit_callbacks):
    assert post(admin_api, django_capture_on_commit_callbacks, APPROVE, approval).status_code == 200
    for client, template in [(approver_api, REJECT), (admin_api, APPROVE)]:
        response = post(client, django_capture_on_commit_callbacks, template, approval)
        assert response.status_code == 409
        assert "already approved" in response.json()["detail"]


def test_it_answers_403_to_a_caller_who_may_not_decide(viewer_api, workflow_api, user_api, project_a, alice, walter,
                                                       april, django_capture_on_commit_callbacks):
    approval = ApprovalFactory(project=project_a, approval={"approvers": {"users": ["alice"]}},
                               caller=user_caller(walter))
    for client in (viewer_api, workflow_api, user_api(april)):
        response = post(client, django_capture_on_commit_callbacks, APPROVE, approval)
        assert response.status_code == 403, response.json()
    assert Approval.objects.get(pk=approval.pk).status == "pending"
    assert post(user_api(alice), django_capture_on_commit_callbacks, APPROVE, approval).status_code == 200


def test_it_keeps_the_starting_key_from_deciding(admin_api, tenant_a, project_a, django_capture_on_commit_callbacks):
    workflow = ApprovalWorkflowFactory(project=project_a)
    with django_capture_on_commit_callbacks(execute=True):
        started = admin_api.post("/api/v1/executions/", {"workflow": str(workflow.id), "input": {"amount": 3}},
                                 format="json")
    assert started.status_code == 201, started.json()
    approval = Approval.objects.get(execution_id=started.json()["id"])
    response = post(admin_api, django_capture_on_commit_callbacks, APPROVE, approval)
    assert response.status_code == 403
    assert "four-eyes" in response.json()["detail"]
    other_admin = key_client(tenant_a, "admin")
    assert post(other_admin, django_capture_on_commit_callbacks, APPROVE, approval).status_code == 200


def test_it_hides_approvals_of_other_tenants(outsider_api, approval, django_capture_on_commit_callbacks):
    execution = approval.execution
    assert outsider_api.get(ITEM.format(id=approval.id)).status_code == 404
    for template in (APPROVE, REJECT):
        response = post(outsider_api, django_capture_on_commit_callbacks, template, approval)
        assert response.status_code == 404
    assert outsider_api.get(LIST).json()["total"] == 0
    assert outsider_api.get(OF_EXECUTION.format(execution_id=execution.id)).status_code == 404
    assert Approval.objects.get(pk=approval.pk).status == "pending"


def test_it_answers_404_for_malformed_and_unknown_ids(admin_api):
    for approval_id in ("nope", uuid.uuid4()):
        response = admin_api.get(ITEM.format(id=approval_id))
        assert response.status_code == 404
        assert response.json()["detail"] == "Approval not found."
    assert admin_api.get(OF_EXECUTION.format(execution_id=uuid.uuid4())).status_code == 404


def test_it_counts_n_of_m_votes(user_api, project_a, walter, alice, april, django_capture_on_commit_callbacks):
    approval = ApprovalFactory(project=project_a, approval={"required_approvals": 2},
                               caller=user_caller(walter))
    execution = approval.execution
    first = post(user_api(april), django_capture_on_commit_callbacks, APPROVE, approval)
    assert (first.json()["status"], first.json()["approvals_count"]) == ("pending", 1)
    again = post(user_api(april), django_capture_on_commit_callbacks, APPROVE, approval)
    assert again.status_code == 409
    assert "already voted" in again.json()["detail"]
    second = post(user_api(alice), django_capture_on_commit_callbacks, APPROVE, approval)
    assert (second.json()["status"], second.json()["decided_by"]) == ("approved", "alice")
    assert [d["by"] for d in second.json()["decisions"]] == ["april", "alice"]
    execution.refresh_from_db()
    assert execution.status == "succeeded"


def test_it_answers_400_for_a_missing_comment_or_form_field(admin_api, project_a, walter,
                                                            django_capture_on_commit_callbacks):
    form = [{"name": "budget", "type": "number", "required": True}]
    approval = ApprovalFactory(project=project_a, approval={"require_comment": True, "form": form},
                               caller=user_caller(walter))
    response = post(admin_api, django_capture_on_commit_callbacks, APPROVE, approval, {"form_values": {"budget": "x"}})
    assert response.status_code == 400
    assert {e["field"] for e in response.json()["errors"]} == {"comment", "form_values.budget"}
    response = post(admin_api, django_capture_on_commit_callbacks, APPROVE, approval,
                    {"comment": "ok", "form_values": {"budget": 1200}})
    assert response.status_code == 200
    assert response.json()["form_values"] == {"budget": 1200}


def test_it_lists_approvals_newest_first_with_few_queries(admin_api, project_a, walter,
                                                          django_assert_num_queries):
    workflow = ApprovalWorkflowFactory(project=project_a)
    approvals = [ApprovalFactory(workflow=workflow, caller=user_caller(walter)) for _ in range(3)]
    assert admin_api.get(LIST).status_code == 200  # the key's last_used_at is written on first use
    # 1 API key, 2 COUNT, 3 the page (approval, execution, workflow, task run), 4 the votes
    with django_assert_num_queries(4):
        response = admin_api.get(LIST, {"limit": 2})
    body = response.json()
    assert body["total"] == 3
    assert [item["id"] for item in body["items"]] == [str(a.id) for a in approvals[::-1][:2]]
    assert body["items"][0]["workflow_name"] == workflow.name
    assert body["items"][0]["requested_by"] == "walter"
    assert body["items"][0]["approvers"] == {"users": [], "roles": ["admin", "approver"], "emails": []}
    rest = admin_api.get(LIST, {"limit": 2, "cursor": body["next_page"]}).json()
    assert [item["id"] for item in rest["items"]] == [str(approvals[0].id)]


def test_it_filters_by_status_workflow_execution_and_mine(user_api, admin_api, project_a, walter, april, victor,
                                                          django_capture_on_commit_callbacks):
    mine = ApprovalWorkflowFactory(project=project_a, approval={"approvers": {"users": ["april"]}})
    others = ApprovalWorkflowFactory(project=project_a, approval={"approvers": {"users": ["alice"]}})
    for_april = ApprovalFactory(workflow=mine, caller=user_caller(walter))
    execution = for_april.execution
    for_alice = ApprovalFactory(workflow=others, caller=user_caller(walter))
    decided = ApprovalFactory(workflow=mine, caller=user_caller(walter))
    assert post(user_api(april), django_capture_on_commit_callbacks, APPROVE, decided).status_code == 200

    def ids(client, **params):
        response = client.get(LIST, params)
        assert response.status_code == 200, response.json()
        return {item["id"] for item in response.json()["items"]}

    assert ids(user_api(april), mine="true") == {str(for_april.id)}
    assert ids(user_api(april), mine="yes") == {str(for_april.id)}
    assert user_api(april).get(LIST, {"mine": "maybe"}).status_code == 400
    assert ids(user_api(victor), mine="true") == set()
    assert ids(user_api(victor)) == {str(for_april.id), str(for_alice.id), str(decided.id)}
    assert ids(admin_api, status="pending") == {str(for_april.id), str(for_alice.id)}
    assert ids(admin_api, status="approved,rejected") == {str(decided.id)}
    assert ids(admin_api, workflow=str(others.id)) == {str(for_alice.id)}
    assert ids(admin_api, execution=str(execution.id)) == {str(for_april.id)}
    flags = {item["id"]: item["can_decide"] for item in user_api(april).get(LIST).json()["items"]}
    assert flags == {str(for_april.id): True, str(for_alice.id): False, str(decided.id): False}


def test_it_lists_the_approvals_of_one_execution(viewer_api, approval, project_a, walter):
    execution = approval.execution
    ApprovalFactory(project=project_a, caller=user_caller(walter))
    response = viewer_api.get(OF_EXECUTION.format(execution_id=execution.id))
    assert response.status_code == 200
    assert [item["id"] for item in response.json()["items"]] == [str(approval.id)]
    one = viewer_api.get(ITEM.format(id=approval.id))
    assert one.json()["url"].endswith(f"/approvals/{approval.id}/")


def test_it_describes_the_approval_endpoints_without_warnings():
    schema, warnings = generate_document([path("api/v1/", include("approvals.api.urls"))])
    assert warnings == {}
    assert set(schema["paths"]) == {LIST, ITEM, APPROVE, REJECT, OF_EXECUTION}
    for template in (APPROVE, REJECT):
        assert set(schema["paths"][template]["post"]["responses"]) >= {"200", "400", "403", "404", "409"}


@pytest.mark.parametrize("number", ["inf", "-Infinity", "nan", "1e400"])
def test_it_answers_400_for_a_number_that_is_not_finite(admin_api, project_a, walter, number,
                                                        django_capture_on_commit_callbacks):
    approval = ApprovalFactory(project=project_a, approval={"form": [{"name": "budget", "type": "number"}]},
                               caller=user_caller(walter))
    response = post(admin_api, django_capture_on_commit_callbacks, APPROVE, approval, {"form_values": {"budget": number}})
    assert response.status_code == 400
    assert response.json()["errors"] == [{"field": "form_values.budget", "message": "Must be a finite number."}]
    assert Approval.objects.get(pk=approval.pk).status == "pending"


@pytest.mark.parametrize("ending", ["ended", "cancel requested"])
def test_it_cancels_an_overdue_approval_of_an_ending_execution_instead_of_deciding(
        admin_api, project_a, walter, ending, django_capture_on_commit_callbacks):
    approval = ApprovalFactory(project=project_a, approval={"expires_in": 60, "on_timeout": "approve"},
                               caller=user_caller(walter))
    execution = approval.execution
    if ending == "ended":  # the execution ended while its approval was still pending
        Execution.objects.filter(pk=execution.pk).update(status="failed", ended_at=timezone.now())
        TaskRun.objects.filter(execution=execution, status="waiting").update(status="cancelled")
    else:  # cancelled while another branch still runs: the approval waits for the engine to end it
        Execution.objects.filter(pk=execution.pk).update(status="running", cancel_requested=True)
    with time_machine.travel(timedelta(minutes=2)):  # past its time-out
        response = post(admin_api, django_capture_on_commit_callbacks, APPROVE, approval)
    assert response.status_code == 409
    assert response.json()["detail"] == ("This approval was cancelled (its execution ended or was cancelled) and can "
                                         "no longer be decided.")
    approval.refresh_from_db()
    assert (approval.status, approval.decisions.count()) == ("cancelled", 0)
