"""The approvers' pages in Chromium: the inbox's search, filters and bulk approval, deciding, errors, 404.

Each page is checked with axe-core (no serious or critical violation) and photographed into
$FLOWGATE_TEST_OUTPUT/approvals. Approvals are made by the eager engine, and decisions taken in
the browser run the rest of the execution eagerly in the live server.
"""

from __future__ import annotations

import pytest

from approvals.models import Approval
from executions.models import Execution
from tests.accounts.factories import key_caller, user_caller
from tests.approvals.factories import ApprovalFactory, ApprovalWorkflowFactory
from tests.support.accessibility import axe_violations, describe
from tests.support.browser import TIMEOUT_MS, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def page(browser):
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    page.set_default_timeout(TIMEOUT_MS)
    yield page
    page.close()


def assert_accessible(page) -> None:
    violations = axe_violations(page)
    assert not violations, describe(violations)


@pytest.fixture
def approvals(project_a, walter, april, tenant_a):
    """For april: two travel expenses (one started by an API key) and a purchase that asks for a form."""
    travel = ApprovalWorkflowFactory(project=project_a, name="Travel expenses", approval={
        "approvers": {"users": ["april"]}, "expires_in": 86400})
    purchases = ApprovalWorkflowFactory(project=project_a, name="Purchases", approval={
        "approvers": {"users": ["april"]}, "title": "Laptop order {{ input.amount }}",
        "form": [{"name": "cost_center", "type": "text", "required": True}]})
    return {
        "berlin": ApprovalFactory(workflow=travel, caller=user_caller(walter),
                                  input={"amount": 480, "trip": {"city": "Berlin", "nights": 2}}),
        "paris": ApprovalFactory(workflow=travel, caller=key_caller(tenant_a, name="demo admin key"),
                                 input={"amount": 95}),
        "laptop": ApprovalFactory(workflow=purchases, caller=user_caller(walter), input={"amount": 1400}),
    }


def test_it_approves_from_the_inbox(page, live_server, approvals, april, output_dir):
    from playwright.sync_api import expect

    berlin = approvals["berlin"]
    sign_in(page, live_server.url, "april")
    expect(page.get_by_test_id("pending-count")).to_have_text("3")
    assert_accessible(page)
    page.screenshot(path=str(output_dir / "inbox-filters.png"), full_page=True)

    page.locator(".approval-row", has_text="Expense of 480").get_by_role("link", name="Expense of 480").click()
    page.wait_for_url(f"{live_server.url}/approvals/{berlin.id}/")
    expect(page.locator("table.kv tr", has_text="amount")).to_contain_text("480")
    expect(page.locator("table.kv tr", has_text="trip").locator("pre")).to_contain_text('"city": "Berlin"')
    expect(page.get_by_test_id("started-by")).to_have_text("walter")
    expect(page.locator(".facts time").first).to_contain_text("just now")
    assert_accessible(page)
    page.screenshot(path=str(output_dir / "approval-page.png"), full_page=True)

    page.fill("textarea[name=comment]", "Within budget.")
    page.get_by_role("button", name="Approve").click()
    page.wait_for_url(f"{live_server.url}/approvals/{berlin.id}/")
    expect(page.locator(".message.success")).to_contain_text("You approved it")
    expect(page.get_by_test_id("outcome")).to_contain_text("Within budget.")
    assert_accessible(page)
    page.screenshot(path=str(output_dir / "approval-decided.png"), full_page=True)
    assert Approval.objects.get(pk=berlin.pk).status == "approved"
    assert Execution.objects.get(pk=berlin.execution_id).status == "succeeded"

    page.get_by_role("link", name="See the execution").click()
    expect(page.get_by_test_id("execution-status")).to_have_text("succeeded")
    assert_accessible(page)


def test_a_rejection_with_a_reason_shows_a_non_success_banner(page, live_server, approvals, april, output_dir):
    from playwright.sync_api import expect

    paris = approvals["paris"]
    sign_in(page, live_server.url, "april")
    page.goto(f"{live_server.url}/approvals/{paris.id}/")
    expect(page.get_by_test_id("started-by")).to_have_text("API key “demo admin key”")
    page.fill("textarea[name=comment]", "No receipt attached.")
    page.get_by_role("button", name="Reject").click()
    banner = page.locator(".messages .message")
    expect(banner).to_have_count(1)
    expect(banner).to_contain_text("You rejected it; the execution stops with a failure.")
    expect(banner).to_have_class("message info")
    expect(page.get_by_test_id("approval-status")).to_have_text("Rejected")
    expect(page.locator(".votes")).to_contain_text("april rejected")
    page.screenshot(path=str(output_dir / "approval-rejected.png"), full_page=True)
    assert Approval.objects.get(pk=paris.pk).status == "rejected"


def test_a_refused_decision_keeps_the_url_and_focuses_the_error_summary(page, live_server, approvals, april,
                                                                        output_dir):
    from playwright.sync_api import expect

    laptop = approvals["laptop"]
    address = f"{live_server.url}/approvals/{laptop.id}/"
    sign_in(page, live_server.url, "april")
    page.goto(address)
    expect(page.get_by_label("Cost center (required to approve)")).to_be_visible()
    page.get_by_role("button", name="Approve").click()
    summary = page.locator("#error-summary")
    expect(summary).to_contain_text("Cost center (required to approve): This field is required to approve.")
    assert page.url == address
    expect(summary).to_be_focused()
    field = page.locator("#id_form_cost_center")
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(field).to_have_attribute("aria-describedby", "id_form_cost_center-error")
    assert_accessible(page)
    page.screenshot(path=str(output_dir / "approval-error-summary.png"), full_page=True)

    # The summary's link leads to the field; the keyboard's focus ring is dark and 3px wide.
    summary.get_by_role("link").click()
    expect(field).to_be_focused()
    page.keyboard.press("Tab")
    ring = page.evaluate("""() => { const s = getComputedStyle(document.activeElement);
        return [s.outlineStyle, s.outlineWidth, s.outlineColor, s.outlineOffset]; }""")
    assert ring == ["solid", "3px", "rgb(26, 58, 143)", "2px"], ring

    # The old form address, opened directly, shows the approval page rather than an error.
    page.goto(f"{address}decide/")
    assert page.url == address
    expect(page.get_by_role("heading", name="Laptop order 1400")).to_be_visible()
    assert Approval.objects.get(pk=laptop.pk).status == "pending"


def test_it_approves_the_selected_approvals_and_reports_each(page, live_server, approvals, april, output_dir):
    from playwright.sync_api import expect

    sign_in(page, live_server.url, "april")
    # The purchase asks for a form: it offers no box to tick.
    expect(page.locator("input[name=approval]")).to_have_count(2)
    page.get_by_label("Select all on this page that need no form").check()
    page.get_by_test_id("approve-selected").click()
    messages = page.locator(".messages")
    expect(messages).to_contain_text("Approved 2: Expense of 95, Expense of 480.")
    expect(page.get_by_test_id("pending-count")).to_have_text("1")
    assert_accessible(page)
    page.screenshot(path=str(output_dir / "inbox-bulk-approved.png"), full_page=True)
    assert set(Approval.objects.filter(status="approved").values_list("pk", flat=True)) == {
        approvals["berlin"].pk, approvals["paris"].pk}
    assert Approval.objects.get(pk=approvals["laptop"].pk).status == "pending"


def test_it_searches_filters_and_sorts_the_inbox(page, live_server, approvals, april, output_dir):
    from playwright.sync_api import expect

    rows = page.locator(".approval-row .title")
    sign_in(page, live_server.url, "april")
    expect(rows).to_have_text(["Laptop order 1400", "Expense of 95", "Expense of 480"])

    page.get_by_role("searchbox", name="Search").fill("laptop")
    page.get_by_role("button", name="Apply").click()
    expect(rows).to_have_text(["Laptop order 1400"])
    assert "q=laptop" in page.url

    page.get_by_role("searchbox", name="Search").fill(str(approvals["berlin"].execution_id)[:8])
    page.get_by_role("button", name="Apply").click()
    expect(rows).to_have_text(["Expense of 480"])

    page.get_by_role("searchbox", name="Search").fill("")
    page.get_by_label("Workflow").select_option(label="Travel expenses")
    page.get_by_label("Sort").select_option(label="Oldest first")
    page.get_by_role("button", name="Apply").click()
    expect(rows).to_have_text(["Expense of 480", "Expense of 95"])
    # The purchase never expires: it comes last.
    page.get_by_label("Workflow").select_option(label="All workflows")
    page.get_by_label("Sort").select_option(label="Expiring soonest")
    page.get_by_role("button", name="Apply").click()
    expect(rows).to_have_text(["Expense of 480", "Expense of 95", "Laptop order 1400"])
    assert_accessible(page)
    page.screenshot(path=str(output_dir / "inbox-filtered.png"), full_page=True)

    page.get_by_role("searchbox", name="Search").fill("nothing like this")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator(".empty")).to_have_text("No approvals match this search.")
    page.get_by_role("link", name="Clear").click()
    expect(rows).to_have_count(3)


@pytest.mark.parametrize("debug", [True, False])
def test_an_unknown_approval_shows_the_friendly_404_page(page, live_server, approvals, april, settings, debug,
                                                       output_dir):
    from playwright.sync_api import expect

    settings.DEBUG = debug
    sign_in(page, live_server.url, "april")
    response = page.goto(f"{live_server.url}/approvals/00000000-0000-0000-0000-000000000000/")
    assert response.status == 404
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
    expect(page.get_by_test_id("not-found")).not_to_contain_text("URLconf")
    assert_accessible(page)
    page.screenshot(path=str(output_dir / f"not-found-debug-{str(debug).lower()}.png"), full_page=True)
    page.get_by_role("link", name="Go to your approvals").click()
    expect(page.get_by_test_id("pending-count")).to_have_text("3")


def test_the_inbox_fits_a_phone(browser, live_server, approvals, april, output_dir):
    from playwright.sync_api import expect

    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = phone.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    sign_in(page, live_server.url, "april")
    expect(page.get_by_test_id("approve-selected")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), "the inbox scrolls sideways"
    page.goto(f"{live_server.url}/approvals/{approvals['berlin'].id}/")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), "the approval scrolls sideways"
    page.screenshot(path=str(output_dir / "approval-phone.png"), full_page=True)
    phone.close()
