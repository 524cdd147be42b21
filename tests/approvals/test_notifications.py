"""Approvers are emailed after commit, with the page's link and, when enabled, a signed link."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.core import mail

from accounts.models import Role
from approvals import links, services
from approvals.models import UsedApprovalLink
from config.errors import Conflict
from executions.models import Log
from tests.accounts.factories import UserFactory, user_caller
from tests.approvals.factories import ApprovalFactory

pytestmark = pytest.mark.django_db
LINK = re.compile(r"https?://\S+/approvals/link/\S+/")


def test_it_emails_each_approver_after_commit(settings, project_a, alice, april, walter, victor):
    settings.FLOWGATE_BASE_URL = "https://flowgate.example.com"
    approvers = {"roles": ["approver", "workflow"], "emails": ["cfo@example.org"]}
    approval = ApprovalFactory(project=project_a, approval={"approvers": approvers}, caller=user_caller(walter))
    execution = approval.execution
    # walter started it (four-eyes), victor is a viewer, alice is not named.
    assert sorted(m.to[0] for m in mail.outbox) == ["april@example.com", "cfo@example.org"]
    message = next(m for m in mail.outbox if m.to == ["april@example.com"])
    assert message.subject == "Approval needed: Expense of 120"
    assert f"https://flowgate.example.com/approvals/{approval.id}/" in message.body
    assert "Check that 120 follows the travel policy." in message.body
    assert "walter started the workflow" in message.body
    assert not LINK.search(message.body)
    assert "no Flowgate account" in next(m for m in mail.outbox if m.to == ["cfo@example.org"]).body
    approval.refresh_from_db()
    assert approval.notified_at is not None
    assert Log.objects.filter(execution=execution, message="Emailed 2 approver(s) about approval 'Expense of 120'.")


def test_it_matches_listed_addresses_to_accounts_whatever_their_case(tenant_a, project_a, walter):
    carl = UserFactory(username="carl", email="Carl.Berg@Example.com", tenant=tenant_a, role=Role.APPROVER)
    UserFactory(username="vera", email="Vera.Lind@Example.com", tenant=tenant_a, role=Role.VIEWER)
    approvers = {"emails": ["carl.berg@example.com", "vera.lind@example.com"]}
    approval = ApprovalFactory(project=project_a, approval={"approvers": approvers}, caller=user_caller(walter))
    # carl may decide; vera has an account but only reads, so she is not told to ask for one.
    assert services.approval_recipients(approval) == [services.Recipient("carl.berg@example.com", carl)]
    assert [m.to for m in mail.outbox] == [["carl.berg@example.com"]]


def test_it_emails_nobody_twice(project_a, alice, april):
    approval = ApprovalFactory(project=project_a, caller=user_caller(alice))
    sent = len(mail.outbox)
    assert services.notify_approvers(approval.id) == 0
    assert len(mail.outbox) == sent


def test_it_logs_a_mail_failure_instead_of_failing(settings, project_a, alice, april):
    settings.EMAIL_BACKEND = "tests.approvals.test_notifications.BrokenBackend"
    execution = ApprovalFactory(project=project_a, caller=user_caller(alice)).execution
    assert Log.objects.filter(execution=execution, level="warning", message__startswith="Could not email").exists()


class BrokenBackend:
    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        raise ConnectionRefusedError("mail server down")


@pytest.fixture
def signed_links(settings):
    settings.FLOWGATE_APPROVAL_SIGNED_LINKS = True
    settings.FLOWGATE_BASE_URL = "http://testserver"


def emailed_link(address: str) -> str:
    message = next(m for m in mail.outbox if m.to == [address])
    return LINK.search(message.body).group(0).removeprefix("http://testserver")


def token_of(path: str) -> str:
    return path.rstrip("/").rsplit("/", 1)[1]


def test_it_sends_signed_links_when_enabled(signed_links, project_a, walter, april,
                                            django_capture_on_commit_callbacks):
    approval = ApprovalFactory(project=project_a, caller=user_caller(walter))
    execution = approval.execution
    token = token_of(emailed_link("april@example.com"))
    found, caller, nonce = services.open_signed_link(token)
    assert (found, caller.user.username, caller.role) == (approval, "april", Role.APPROVER)
    with django_capture_on_commit_callbacks(execute=True):
        decided = services.decide_with_signed_link(token, "approve", comment="by mail")
    assert (decided.status, decided.decided_by_label, decided.comment) == ("approved", "april", "by mail")
    assert UsedApprovalLink.objects.filter(nonce=nonce, approval=approval).exists()
    execution.refresh_from_db()
    assert execution.status == "succeeded"


def test_it_refuses_a_used_link(signed_links, project_a, walter, april):
    approval = ApprovalFactory(project=project_a, approval={"required_approvals": 2}, caller=user_caller(walter))
    token = token_of(emailed_link("april@example.com"))
    services.decide_with_signed_link(token, "approve")
    with pytest.raises(links.LinkUsed):
        services.open_signed_link(token)
    with pytest.raises(links.LinkUsed):
        services.decide_with_signed_link(token, "reject")
    approval.refresh_from_db()
    assert (approval.status, approval.approvals_count) == ("pending", 1)


def test_it_refuses_a_tampered_link(signed_links, project_a, walter, april, alice):
    approval = ApprovalFactory(project=project_a, caller=user_caller(walter))
    token = token_of(emailed_link("april@example.com"))
    payload, rest = token.split(":", 1)
    forged = links._signer().sign_object({"a": str(approval.id), "u": alice.id, "n": "x"}).split(":", 1)[0]
    for bad in [token[:-2] + ("AA" if not token.endswith("AA") else "BB"), f"{forged}:{rest}", "garbage"]:
        with pytest.raises(links.LinkInvalid):
            services.open_signed_link(bad)


def test_it_refuses_an_expired_link(signed_links, settings, project_a, walter, april):
    settings.FLOWGATE_APPROVAL_LINK_MAX_AGE_SECONDS = 3600
    approval = ApprovalFactory(project=project_a, caller=user_caller(walter))
    token = links.make_token(approval, april)
    with time_machine.travel(timedelta(hours=2)), pytest.raises(links.LinkExpired):
        services.open_signed_link(token)


def test_it_still_applies_the_rules_to_a_link(signed_links, tenant_a, project_a, walter, april):
    approval = ApprovalFactory(project=project_a, caller=user_caller(walter))
    starter_link = links.make_token(approval, walter)  # a link can only carry the rules, not bypass them
    with pytest.raises(Exception, match="four-eyes"):
        services.decide_with_signed_link(starter_link, "approve")
    services.decide_with_signed_link(links.make_token(approval, april), "reject")
    with pytest.raises(Conflict):
        services.decide_with_signed_link(links.make_token(approval, april), "approve")


def test_it_refuses_a_link_of_someone_no_longer_a_member(signed_links, tenant_a, project_a, walter):
    approval = ApprovalFactory(project=project_a, caller=user_caller(walter))
    gone = UserFactory(username="gone", tenant=tenant_a, role=Role.APPROVER)
    token = links.make_token(approval, gone)
    gone.memberships.all().delete()
    with pytest.raises(links.LinkInvalid):
        services.open_signed_link(token)


def test_an_email_names_an_api_key_that_started_the_execution_in_words(project_a, april):
    ApprovalFactory(project=project_a, approval={"approvers": {"roles": ["approver"]}}, started_by_label="key:billing")
    [message] = mail.outbox
    assert "API key “billing” started" in message.body
    assert "key:billing" not in message.body
