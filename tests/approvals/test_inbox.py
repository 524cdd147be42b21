"""The approvers' inbox: what the user may decide, newest first, a count, and a tab for decided approvals."""

import re

import pytest

from approvals import services
from tests.accounts.factories import UserFactory, user_caller
from tests.approvals.factories import ApprovalFactory, ApprovalWorkflowFactory
from tests.conftest import PASSWORD
from tests.support.clients import Client

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:
    client = Client(enforce_csrf_checks=True)
    assert client.login(username=user.username, password=PASSWORD)
    return client


def row_ids(content: str) -> list[str]:
    """The approval ids of the inbox rows, in page order."""
    return re.findall(r'href="/approvals/([0-9a-f-]{36})/"', content)


@pytest.fixture
def three(project_a, walter, april):
    """Three approvals april may decide, requested one after the other."""
    workflow = ApprovalWorkflowFactory(project=project_a, approval={"approvers": {"users": ["april"]}})
    return [ApprovalFactory(workflow=workflow, caller=user_caller(walter), input={"amount": amount})
            for amount in (10, 20, 30)]


def test_it_lists_what_the_user_may_decide(april, alice, victor, project_a, walter):
    approval = ApprovalFactory(project=project_a, approval={"approvers": {"users": ["april"]}},
                               caller=user_caller(walter))
    execution = approval.execution
    ApprovalFactory(project=project_a, approval={"approvers": {"users": ["alice"]}}, caller=user_caller(walter))
    page = signed_in(april).get("/approvals/")
    content = page.content.decode()
    assert page.status_code == 200
    assert content.count('class="card approval-row') == 1
    assert f"/approvals/{approval.id}/" in content
    assert 'data-testid="pending-count">1<' in content
    assert "walter" in content and execution.workflow.name in content
    assert signed_in(alice).get("/approvals/").content.decode().count('class="card approval-row') == 2
    assert 'data-testid="pending-count">0<' in signed_in(victor).get("/approvals/").content.decode()


def test_it_tells_a_user_without_a_tenant_why_the_inbox_is_empty(db):
    loner = UserFactory(username="loner")
    response = signed_in(loner).get("/approvals/")
    assert response.status_code == 403
    assert b"not a member of any tenant" in response.content


def test_it_lists_pending_approvals_newest_first_with_their_count(three, april):
    content = signed_in(april).get("/approvals/").content.decode()
    ids = list(dict.fromkeys(row_ids(content)))
    assert ids == [str(a.id) for a in reversed(three)]
    assert 'data-testid="pending-count">3<' in content


def test_it_moves_a_decided_approval_to_the_decided_tab(three, april, django_capture_on_commit_callbacks):
    first, second, third = three
    with django_capture_on_commit_callbacks(execute=True):
        services.decide_approval(first, user_caller(april), "approve", comment="fine")
        services.decide_approval(third, user_caller(april), "reject", comment="no receipt")
    client = signed_in(april)

    pending = client.get("/approvals/").content.decode()
    assert list(dict.fromkeys(row_ids(pending))) == [str(second.id)]
    assert 'data-testid="pending-count">1<' in pending

    decided = client.get("/approvals/?show=decided")
    assert decided.status_code == 200
    content = decided.content.decode()
    assert list(dict.fromkeys(row_ids(content))) == [str(third.id), str(first.id)]
    assert "status-approved" in content and "status-rejected" in content
    assert '<a href="?show=decided" class="tab active" aria-current="page">Decided</a>' in content
    assert "<title>Decided approvals" in content


def test_the_decided_tab_hides_what_the_user_had_no_say_in(three, april, victor):
    # victor (viewer) may decide nothing: both tabs are empty for him, and he sees no other approvals' ids.
    client = signed_in(victor)
    assert row_ids(client.get("/approvals/").content.decode()) == []
    assert row_ids(client.get("/approvals/?show=decided").content.decode()) == []
