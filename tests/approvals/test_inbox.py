"""The approvers' inbox: what the user may decide, newest first, a count, and a tab for decided approvals."""

import re

import pytest

from approvals import services
from approvals.models import Approval
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


# -- search, filter, sort ---------------------------------------------------------------------------------
@pytest.fixture
def mixed(project_a, walter, april):
    """Two workflows' approvals for april: two expenses (the second expiring sooner) and a purchase."""
    expenses = ApprovalWorkflowFactory(project=project_a, name="Travel expenses",
                                       approval={"approvers": {"users": ["april"]}, "expires_in": 7200})
    purchases = ApprovalWorkflowFactory(project=project_a, name="Purchases", approval={
        "approvers": {"users": ["april"]}, "title": "Laptop order {{ input.amount }}", "expires_in": 3600})
    first = ApprovalFactory(workflow=expenses, caller=user_caller(walter), input={"amount": 10})
    second = ApprovalFactory(workflow=expenses, caller=user_caller(walter), input={"amount": 20})
    laptop = ApprovalFactory(workflow=purchases, caller=user_caller(walter), input={"amount": 30})
    return {"expenses": expenses, "purchases": purchases, "first": first, "second": second, "laptop": laptop}


def shown(client, query: str) -> list[str]:
    response = client.get(f"/approvals/?{query}")
    assert response.status_code == 200, response.content.decode()[:1000]
    return list(dict.fromkeys(row_ids(response.content.decode())))


def test_it_searches_titles_workflow_names_and_execution_ids(mixed, april):
    client = signed_in(april)
    assert shown(client, "q=laptop") == [str(mixed["laptop"].id)]
    assert shown(client, "q=TRAVEL+EXP") == [str(mixed["second"].id), str(mixed["first"].id)]
    assert shown(client, "q=travel+laptop") == []
    assert shown(client, "q=travel") == [str(mixed["second"].id), str(mixed["first"].id)]
    prefix = str(mixed["first"].execution_id)[:8]
    assert shown(client, f"q={prefix}") == [str(mixed["first"].id)]
    assert shown(client, f"q={mixed['second'].execution_id}") == [str(mixed["second"].id)]
    empty = client.get("/approvals/?q=nothing-like-this").content.decode()
    assert "No approvals match this search." in empty
    # The tab's count stays the count of everything to decide.
    assert 'data-testid="pending-count">3<' in empty


def test_it_filters_by_workflow_and_sorts(mixed, april):
    client = signed_in(april)
    expenses = mixed["expenses"].id
    assert shown(client, f"workflow={expenses}") == [str(mixed["second"].id), str(mixed["first"].id)]
    assert shown(client, f"workflow={expenses}&sort=oldest") == [str(mixed["first"].id), str(mixed["second"].id)]
    assert shown(client, "sort=expiring")[0] == str(mixed["laptop"].id)
    page = client.get(f"/approvals/?workflow={expenses}&sort=oldest").content.decode()
    assert f'<option value="{expenses}" selected>Travel expenses</option>' in page
    assert '<option value="oldest" selected>Oldest first</option>' in page


def test_it_refuses_a_bad_filter_with_a_reason(mixed, april):
    client = signed_in(april)
    response = client.get("/approvals/?sort=loudest")
    assert response.status_code == 400
    assert "Sort: Select a valid choice. loudest is not one of the available choices." in response.content.decode()
    response = client.get("/approvals/?workflow=not-an-id")
    assert response.status_code == 400
    assert "Workflow: Enter a valid UUID." in response.content.decode()
    assert row_ids(response.content.decode()) == []


def test_the_inbox_takes_a_bounded_number_of_queries(project_a, walter, april, django_assert_max_num_queries):
    workflow = ApprovalWorkflowFactory(project=project_a, approval={"approvers": {"users": ["april"]}})
    for amount in range(12):
        ApprovalFactory(workflow=workflow, caller=user_caller(walter), input={"amount": amount})
    client = signed_in(april)
    # session, user, membership (the caller), the workflows of the filter, the filtered list's count, the
    # pending count of the tab (a filtered list counts apart), the page's rows with executions and workflows.
    with django_assert_max_num_queries(7):
        response = client.get(f"/approvals/?q=expense&workflow={workflow.id}&sort=oldest")
    assert len(set(row_ids(response.content.decode()))) == 12
    with django_assert_max_num_queries(7):
        client.get("/approvals/?show=decided&q=expense")


# -- approve selected ------------------------------------------------------------------------------------
def bulk(client, ids: list[str], back: str = ""):
    page = client.get("/approvals/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode()).group(1)
    return client.post("/approvals/bulk/", {"csrfmiddlewaretoken": token, "approval": ids, "back": back})


def test_it_approves_the_selected_approvals_and_reports_each(project_a, walter, april,
                                                             django_capture_on_commit_callbacks):
    plain = ApprovalWorkflowFactory(project=project_a, approval={"approvers": {"users": ["april"]}})
    a, b = (ApprovalFactory(workflow=plain, caller=user_caller(walter), input={"amount": n}) for n in (1, 2))
    with_form = ApprovalFactory(project=project_a, caller=user_caller(walter), input={"amount": 3}, approval={
        "approvers": {"users": ["april"]}, "form": [{"name": "budget", "type": "number"}]})
    not_hers = ApprovalFactory(project=project_a, caller=user_caller(walter), input={"amount": 4},
                               approval={"approvers": {"users": ["alice"]}})
    client = signed_in(april)
    inbox = client.get("/approvals/").content.decode()
    # Only those that need no form can be ticked.
    assert f'name="approval" value="{a.id}"' in inbox and f'name="approval" value="{with_form.id}"' not in inbox
    with django_capture_on_commit_callbacks(execute=True):
        response = bulk(client, [str(a.id), str(b.id), str(with_form.id), str(not_hers.id), "nonsense"],
                        back="show=pending&q=expense&evil=https://example.com")
    assert response.status_code == 302 and response.url == "/approvals/?show=pending&q=expense"
    assert {x.status for x in Approval.objects.filter(pk__in=[a.pk, b.pk])} == {"approved"}
    assert {x.status for x in Approval.objects.filter(pk__in=[with_form.pk, not_hers.pk])} == {"pending"}
    assert a.execution.__class__.objects.get(pk=a.execution_id).status == "succeeded"
    report = client.get(response.url).content.decode()
    assert "Approved 2: Expense of 1, Expense of 2." in report
    assert "Not approved: Expense of 3. It asks for a form or a comment; open it to decide." in report
    assert "Not approved: Expense of 4. You are not an approver of this approval" in report
    assert "Not approved: nonsense. Approval not found." in report


def test_bulk_approval_keeps_the_four_eyes_rule(project_a, walter, april):
    mine = ApprovalFactory(project=project_a, caller=user_caller(walter), approval={"approvers": {"users": ["walter"]}})
    client = signed_in(walter)
    bulk(client, [str(mine.id)])
    report = client.get("/approvals/").content.decode()
    assert "Not approved: Expense of 120. You started this execution, so someone else must decide" in report
    assert Approval.objects.get(pk=mine.pk).status == "pending"


def test_bulk_approval_needs_a_selection(april):
    client = signed_in(april)
    response = bulk(client, [])
    assert response.status_code == 302
    assert "Select at least one approval." in client.get("/approvals/").content.decode()


def test_its_pages_keep_the_search_filter_and_sort(mixed, april, monkeypatch):
    from approvals import views

    monkeypatch.setattr(views, "INBOX_PAGE_SIZE", 1)
    client = signed_in(april)
    query = f"q=travel&workflow={mixed['expenses'].id}&sort=oldest"
    first = client.get(f"/approvals/?{query}").content.decode()
    assert list(dict.fromkeys(row_ids(first))) == [str(mixed["first"].id)]
    following = f'href="?show=pending&amp;q=travel&amp;workflow={mixed["expenses"].id}&amp;sort=oldest&amp;page=2"'
    assert following in first
    second = client.get(f"/approvals/?{query}&page=2").content.decode()
    assert list(dict.fromkeys(row_ids(second))) == [str(mixed["second"].id)]
