"""Approvers in a real browser: Chromium (Playwright) against a live server with a real worker."""

from __future__ import annotations

import re

import pytest

from approvals.models import Approval
from executions.models import Execution
from tests.accounts.factories import user_caller
from tests.conftest import wait_until
from tests.executions.factories import ExecutionFactory
from tests.support.browser import TIMEOUT_MS, sign_in
from tests.workflows.factories import WorkflowFactory

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.postgres, pytest.mark.redis,
              pytest.mark.django_db(transaction=True)]


def expense_workflow(project):
    return WorkflowFactory(project=project, tasks=[
        {"name": "approve", "type": "approval", "config": {
            "title": "Expense of {{ input.amount }} EUR",
            "instructions": "Approve if {{ input.reason }} follows the travel policy.",
            "approvers": {"users": ["april"]},
        }},
        {"name": "book", "type": "response", "depends_on": ["approve"],
         "config": {"value": {"booked": True, "by": "{{ tasks.approve.output.decided_by }}"}}},
    ], name="Expense approval")


def start_and_wait_for_approval(project, walter) -> tuple[Execution, Approval]:
    execution = ExecutionFactory(caller=user_caller(walter), workflow=expense_workflow(project),
                                 input={"amount": 480, "reason": "the Berlin trip"})
    approval = wait_until(lambda: Approval.objects.filter(execution=execution, status="pending").first(), timeout=60)
    wait_until(lambda: Execution.objects.filter(pk=execution.pk, status="waiting").exists(), timeout=60)
    return execution, approval


def test_it_lets_an_approver_approve_in_the_browser(browser, live_server, live_worker, project_a, walter, april,
                                                    output_dir):
    from playwright.sync_api import expect

    execution, approval = start_and_wait_for_approval(project_a, walter)
    page = browser.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    sign_in(page, live_server.url, "april")

    row = page.locator(".approval-row", has_text="Expense of 480 EUR")
    expect(row).to_have_count(1)
    expect(page.get_by_test_id("pending-count")).to_have_text("1")
    expect(row).to_contain_text("walter")
    page.screenshot(path=str(output_dir / "inbox.png"), full_page=True)

    row.get_by_role("link", name="Expense of 480 EUR").click()
    page.wait_for_url(f"{live_server.url}/approvals/{approval.id}/")
    expect(page.locator(".instructions")).to_contain_text("Approve if the Berlin trip follows the travel policy.")
    expect(page.locator("table.kv tr", has_text="amount")).to_contain_text("480")
    page.screenshot(path=str(output_dir / "detail.png"), full_page=True)

    page.fill("textarea[name=comment]", "Within budget.")
    page.get_by_role("button", name="Approve").click()
    expect(page.locator(".message.success")).to_contain_text("You approved it")
    expect(page.get_by_test_id("outcome")).to_contain_text("Within budget.")
    page.screenshot(path=str(output_dir / "detail-approved.png"), full_page=True)

    page.get_by_role("link", name="See the execution").click()
    # The status page refreshes itself until the execution ends.
    expect(page.get_by_test_id("execution-status")).to_have_text("succeeded", timeout=TIMEOUT_MS)
    expect(page.locator(".logs")).to_contain_text("approved by april: Within budget.")
    page.screenshot(path=str(output_dir / "execution.png"), full_page=True)
    execution.refresh_from_db()
    assert execution.return_value == {"booked": True, "by": "april"}

    # Deciding again (the browser's back button, a second tab) explains instead of failing.
    page.goto(f"{live_server.url}/approvals/{approval.id}/")
    expect(page.get_by_role("button", name="Approve")).to_have_count(0)
    expect(page.get_by_test_id("approval-status")).to_have_text("Approved")


def test_it_lets_an_approver_reject_in_the_browser(browser, live_server, live_worker, project_a, walter, april,
                                                   output_dir):
    from playwright.sync_api import expect

    execution, approval = start_and_wait_for_approval(project_a, walter)
    page = browser.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    sign_in(page, live_server.url, "april")
    page.goto(f"{live_server.url}/approvals/{approval.id}/")
    page.fill("textarea[name=comment]", "No receipt attached.")
    page.get_by_role("button", name="Reject").click()
    expect(page.locator(".message.info")).to_contain_text("You rejected it")
    expect(page.locator(".message.success")).to_have_count(0)
    expect(page.get_by_test_id("approval-status")).to_have_text("Rejected")
    page.get_by_test_id("execution-link").click()
    expect(page.get_by_test_id("execution-status")).to_have_text("failed", timeout=TIMEOUT_MS)
    expect(page.locator(".message.error")).to_contain_text("Rejected by april: No receipt attached.")
    page.screenshot(path=str(output_dir / "execution-rejected.png"), full_page=True)

    page.goto(f"{live_server.url}/approvals/?show=decided")
    expect(page.locator(".approval-row", has_text="Expense of 480 EUR")).to_contain_text("Rejected")


@pytest.fixture
def mailing_worker(live_server, start_worker, settings):
    """A worker of this test's own that prints emails with signed links into its log."""
    settings.FLOWGATE_APPROVAL_SIGNED_LINKS = True
    return start_worker(FLOWGATE_BASE_URL=live_server.url, FLOWGATE_APPROVAL_SIGNED_LINKS="true",
                        EMAIL_BACKEND="django.core.mail.backends.console.EmailBackend")


def test_it_decides_from_a_signed_link_on_a_phone(browser, live_server, mailing_worker, project_a, walter, april,
                                                  output_dir):
    from playwright.sync_api import expect

    worker = mailing_worker
    execution, approval = start_and_wait_for_approval(project_a, walter)
    # The worker's console email backend prints april's email into its log.
    pattern = re.compile(re.escape(live_server.url) + r"/approvals/link/[^/\s]+/")
    link = wait_until(lambda: (m := pattern.search(worker.log_path.read_text())) and m.group(0), timeout=60)

    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = phone.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(link)
    expect(page.get_by_role("heading", name="Confirm your decision")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), "the page scrolls sideways"
    page.screenshot(path=str(output_dir / "signed-link-phone.png"), full_page=True)
    assert Approval.objects.get(pk=approval.pk).status == "pending"  # opening the link decided nothing

    page.fill("textarea[name=comment]", "Approved from my phone.")
    page.get_by_role("button", name="Approve").click()
    expect(page.get_by_test_id("outcome")).to_contain_text("You approved it")
    wait_until(lambda: Execution.objects.filter(pk=execution.pk, status="succeeded").exists(), timeout=60)
    assert Approval.objects.get(pk=approval.pk).decided_by_label == "april"

    page.goto(link)
    expect(page.get_by_test_id("link-error")).to_contain_text("already been used")
    phone.close()
