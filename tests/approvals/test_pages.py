"""The approvers' web pages, through Django's test client with CSRF checks on."""

import re
from datetime import timedelta

import pytest
import time_machine

from approvals import links
from approvals.models import Approval
from tests.accounts.factories import key_caller, user_caller
from tests.approvals.factories import ApprovalFactory
from tests.conftest import PASSWORD
from tests.support.clients import Client

pytestmark = pytest.mark.django_db


def browser(user=None) -> Client:
    client = Client(enforce_csrf_checks=True)
    if user is not None:
        assert client.login(username=user.username, password=PASSWORD)
    return client


def csrf_post(client: Client, page_path: str, post_path: str, data: dict, **kwargs):
    """Open the page (which sets the CSRF cookie) and post its form with the token, as a browser does."""
    page = client.get(page_path)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())
    assert token, page.content.decode()[:2000]
    return client.post(post_path, {"csrfmiddlewaretoken": token.group(1), **data}, **kwargs)


@pytest.fixture
def approval(project_a, walter, april):
    """The approval an execution walter started waits on; april (or an admin) may decide it."""
    return ApprovalFactory(project=project_a, approval={"approvers": {"users": ["april"]}}, caller=user_caller(walter))


def test_it_signs_in_and_lands_on_the_inbox(april):
    client = Client(enforce_csrf_checks=True)
    page = client.get("/accounts/login/")
    assert page.status_code == 200
    assert b'name="viewport"' in page.content
    response = csrf_post(client, "/accounts/login/", "/accounts/login/",
                         {"username": "april", "password": PASSWORD, "next": "/approvals/"})
    assert response.status_code == 302
    assert response.url == "/approvals/"
    wrong = csrf_post(Client(enforce_csrf_checks=True), "/accounts/login/", "/accounts/login/",
                      {"username": "april", "password": "wrong"})
    assert wrong.status_code == 200
    assert b"correct username and password" in wrong.content


def test_it_sends_strangers_to_the_login_page():
    response = Client().get("/approvals/")
    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/?next=/approvals/")


def test_it_serves_the_stylesheet():
    response = Client().get("/static/flowgate.css")
    assert response.status_code == 200
    assert b"@media" in b"".join(response.streaming_content)


def test_it_shows_the_approval_with_its_input_and_outputs(approval, april):
    execution = approval.execution
    page = browser(april).get(f"/approvals/{approval.id}/")
    content = page.content.decode()
    assert page.status_code == 200
    for text in ("Expense of 120", "Check that 120 follows the travel policy.",
                 '<tr><th scope="row">amount</th>',
                 "prepare", 'value="approve"', 'value="reject"', "csrfmiddlewaretoken",
                 f"/approvals/executions/{execution.id}/"):
        assert text in content, text


def test_it_approves_from_the_page_and_shows_the_outcome(approval, april, django_capture_on_commit_callbacks):
    execution = approval.execution
    client = browser(april)
    page = f"/approvals/{approval.id}/"
    with django_capture_on_commit_callbacks(execute=True):
        response = csrf_post(client, page, page, {"decision": "approve", "comment": "ok by me"})
    assert response.status_code == 302 and response.url == page
    shown = client.get(page).content.decode()
    assert '<li class="message success">You approved it; the execution continues.</li>' in shown
    assert 'data-testid="outcome"' in shown and "ok by me" in shown
    execution.refresh_from_db()
    assert execution.status == "succeeded"
    status_page = client.get(f"/approvals/executions/{execution.id}/").content.decode()
    assert 'data-testid="execution-status">succeeded<' in status_page
    assert "Approval &#x27;Expense of 120&#x27; approved by april: ok by me." in status_page
    assert 'http-equiv="refresh"' not in status_page


def test_it_explains_a_second_decision_instead_of_failing(approval, april, alice, django_capture_on_commit_callbacks):
    page = f"/approvals/{approval.id}/"
    client = browser(april)
    with django_capture_on_commit_callbacks(execute=True):
        csrf_post(client, page, f"{page}decide/", {"decision": "reject", "comment": "no"})
        # A second tab still showing the form posts again.
        token = client.cookies["csrftoken"].value
        again = client.post(f"{page}decide/", {"decision": "approve", "csrfmiddlewaretoken": token}, follow=True)
    assert again.status_code == 200
    assert "already rejected by april" in again.content.decode()
    assert Approval.objects.get(pk=approval.pk).status == "rejected"


def test_it_refuses_a_non_approver_with_a_reason(approval, victor, alice):
    page = f"/approvals/{approval.id}/"
    assert "may only read approvals" in browser(victor).get(page).content.decode()
    client = browser(victor)
    client.get(page)
    response = client.post(f"{page}decide/", {"decision": "approve",
                                              "csrfmiddlewaretoken": client.cookies["csrftoken"].value})
    assert response.status_code == 403
    assert "may only read approvals" in response.content.decode()
    assert Approval.objects.get(pk=approval.pk).status == "pending"


def test_it_shows_form_errors_on_the_page(project_a, walter, april):
    form = [{"name": "budget", "type": "number", "required": True, "label": "Budget"}]
    approval = ApprovalFactory(project=project_a, approval={"require_comment": True, "form": form},
                               caller=user_caller(walter))
    page = f"/approvals/{approval.id}/"
    response = csrf_post(browser(april), page, page, {"decision": "approve", "form_budget": "many"})
    content = response.content.decode()
    assert response.status_code == 400
    assert "A comment is required" in content
    assert "Must be a number" in content
    # The summary at the top of the form takes the focus; each invalid field points at its message.
    assert 'id="error-summary" tabindex="-1"' in content and "flowgate-forms.js" in content
    assert '<a href="#id_form_budget">Budget (required to approve): Must be a number, not &#x27;many&#x27;.</a>' in content
    field = re.search(r'<input[^>]+name="form_budget"[^>]*>', content).group(0)
    assert 'aria-invalid="true"' in field and 'aria-describedby="id_form_budget-error"' in field
    assert '<p class="field-error" id="id_form_budget-error">Must be a number, not &#x27;many&#x27;.</p>' in content
    assert Approval.objects.get(pk=approval.pk).status == "pending"


def test_it_shows_a_number_that_is_not_finite_as_a_form_error(project_a, walter, april):
    form = [{"name": "budget", "type": "number", "label": "Budget"}]
    approval = ApprovalFactory(project=project_a, approval={"form": form}, caller=user_caller(walter))
    page = f"/approvals/{approval.id}/"
    response = csrf_post(browser(april), page, f"{page}decide/", {"decision": "approve", "form_budget": "1e400"})
    assert response.status_code == 400
    assert "Must be a finite number." in response.content.decode()
    assert Approval.objects.get(pk=approval.pk).status == "pending"


def test_it_hides_other_tenants_approvals_and_executions(approval, oscar):
    execution = approval.execution
    client = browser(oscar)
    assert client.get(f"/approvals/{approval.id}/").status_code == 404
    assert client.get(f"/approvals/executions/{execution.id}/").status_code == 404


def test_it_refreshes_the_status_page_of_a_running_execution(approval, april):
    execution = approval.execution
    page = browser(april).get(f"/approvals/executions/{execution.id}/").content.decode()
    # It follows the execution's live stream from the last line it shows.
    assert "flowgate-live.js" in page
    assert f'data-events-url="/api/v1/executions/{execution.id}/events"' in page
    assert 'data-testid="execution-status">waiting<' in page


# -- signed links -------------------------------------------------------------------------------------
@pytest.fixture(autouse=True)
def _signed_links(settings):
    settings.FLOWGATE_APPROVAL_SIGNED_LINKS = True


def link_path(approval, user) -> str:
    return f"/approvals/link/{links.make_token(approval, user)}/"


def test_it_only_asks_for_confirmation_when_a_link_is_opened(approval, april):
    path = link_path(approval, april)
    for _ in range(3):  # mail scanners prefetch links, some several times
        page = Client(enforce_csrf_checks=True).get(path)
        assert page.status_code == 200
        assert "Confirm your decision" in page.content.decode()
    assert page["Cache-Control"].startswith("max-age=0")
    assert Approval.objects.get(pk=approval.pk).status == "pending"


def test_it_decides_once_from_a_link(approval, april, django_capture_on_commit_callbacks):
    execution = approval.execution
    path = link_path(approval, april)
    client = Client(enforce_csrf_checks=True)
    with django_capture_on_commit_callbacks(execute=True):
        response = csrf_post(client, path, path, {"decision": "approve", "comment": "from my phone"})
    assert response.status_code == 200
    assert "You approved it" in response.content.decode()
    execution.refresh_from_db()
    assert execution.status == "succeeded"
    used = client.get(path)
    assert used.status_code == 409
    assert "already been used" in used.content.decode()
    replay = client.post(path, {"decision": "reject", "csrfmiddlewaretoken": client.cookies["csrftoken"].value})
    assert replay.status_code == 409
    assert Approval.objects.get(pk=approval.pk).status == "approved"


def test_it_answers_a_clear_page_for_a_tampered_or_expired_link(approval, april):
    path = link_path(approval, april)
    tampered = Client().get(path[:-6] + "xxxxx/")
    assert tampered.status_code == 400
    assert "damaged or was altered" in tampered.content.decode()
    with time_machine.travel(timedelta(days=30)):
        expired = Client().get(path)
    assert expired.status_code == 410
    assert "has expired" in expired.content.decode()
    assert Approval.objects.get(pk=approval.pk).status == "pending"


def test_it_tells_a_link_holder_when_someone_else_decided(approval, april, alice, django_capture_on_commit_callbacks):
    from approvals import services
    path = link_path(approval, april)
    with django_capture_on_commit_callbacks(execute=True):
        services.decide_approval(approval, user_caller(alice), "approve")
    page = Client().get(path)
    assert page.status_code == 409
    assert "already approved by alice" in page.content.decode()


def test_it_refuses_links_when_they_are_turned_off(settings, approval, april):
    path = link_path(approval, april)
    settings.FLOWGATE_APPROVAL_SIGNED_LINKS = False
    page = Client().get(path)
    assert page.status_code == 400
    assert "turned off" in page.content.decode()


def test_it_shows_approvals_read_only_in_the_admin(approval, admin_client):
    listing = admin_client.get("/admin/approvals/approval/")
    assert listing.status_code == 200
    assert "Expense of 120" in listing.content.decode()
    page = admin_client.get(f"/admin/approvals/approval/{approval.pk}/change/")
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()


# -- what the approver reads ----------------------------------------------------------------------------
def test_it_tells_a_rejection_in_a_neutral_banner_and_says_rejected(approval, april, django_capture_on_commit_callbacks):
    client = browser(april)
    page = f"/approvals/{approval.id}/"
    with django_capture_on_commit_callbacks(execute=True):
        csrf_post(client, page, page, {"decision": "reject", "comment": "No receipt."})
    shown = client.get(page).content.decode()
    assert '<li class="message info">You rejected it; the execution stops with a failure.</li>' in shown
    assert "message success" not in shown
    assert "<strong>april</strong> rejected" in shown and "rejectd" not in shown


def test_it_sends_a_reload_of_the_old_form_address_to_the_approval_page(approval, april):
    page = f"/approvals/{approval.id}/"
    response = browser(april).get(f"{page}decide/")
    assert response.status_code == 302 and response.url == page


def test_it_names_the_starting_key_and_says_just_now(project_a, april, tenant_a):
    approval = ApprovalFactory(project=project_a, approval={"approvers": {"users": ["april"]}},
                               caller=key_caller(tenant_a, name="demo admin key"))
    content = browser(april).get(f"/approvals/{approval.id}/").content.decode()
    assert '<dd data-testid="started-by">API key “demo admin key”</dd>' in content
    stamp = approval.requested_at.strftime("%Y-%m-%d %H:%M:%S UTC")
    assert f'title="{stamp}">{stamp} (just now)</time>' in content
    assert "0 minutes" not in content
    with time_machine.travel(approval.requested_at + timedelta(minutes=5, seconds=3)):
        later = browser(april).get(f"/approvals/{approval.id}/").content.decode()
    assert f"{stamp} (5\xa0minutes ago)" in later


def test_it_shows_the_input_as_a_table_with_nested_values_pretty_printed(project_a, walter, april):
    approval = ApprovalFactory(project=project_a, approval={"approvers": {"users": ["april"]}},
                               caller=user_caller(walter),
                               input={"amount": 120, "paid": False, "trip": {"city": "Berlin", "days": 2}})
    content = browser(april).get(f"/approvals/{approval.id}/").content.decode()
    assert '<tr><th scope="row">amount</th>\n          <td><span class="prewrap">120</span></td></tr>' in content
    assert '<th scope="row">paid</th>\n          <td><code>false</code></td>' in content
    assert '<th scope="row">trip</th>\n          <td><pre class="json">{\n  &quot;city&quot;: &quot;Berlin&quot;,' in content


def test_it_labels_form_fields_from_the_schema_or_in_words(project_a, walter, april):
    form = [{"name": "cost_center", "type": "text"}, {"name": "budgetLimit", "type": "number"},
            {"name": "po", "type": "text", "title": "Purchase order", "description": "As printed on the order"}]
    approval = ApprovalFactory(project=project_a, approval={"approvers": {"users": ["april"]}, "form": form},
                               caller=user_caller(walter))
    content = browser(april).get(f"/approvals/{approval.id}/").content.decode()
    assert '<label for="id_form_cost_center">Cost center</label>' in content
    assert '<label for="id_form_budgetLimit">Budget limit</label>' in content
    assert '<label for="id_form_po">Purchase order</label>' in content
    assert '<p class="help" id="id_form_po_helptext">As printed on the order</p>' in content


def test_it_tells_the_starter_plainly_that_someone_else_must_decide(project_a, walter):
    approval = ApprovalFactory(project=project_a, caller=user_caller(walter),
                               approval={"approvers": {"users": ["walter"]}})
    content = browser(walter).get(f"/approvals/{approval.id}/").content.decode()
    assert "You started this execution, so someone else must decide this approval" in content
    assert "allow_self_approval" not in content
    assert 'value="approve"' not in content


# -- page not found --------------------------------------------------------------------------------------
@pytest.mark.parametrize("debug", [True, False])
@pytest.mark.parametrize("path", ["/approvals/00000000-0000-0000-0000-000000000000/", "/approvals/nonsense/",
                                  "/approvals/executions/00000000-0000-0000-0000-000000000000/",
                                  "/no-such-page/", "/admin/no-such-app/"])
def test_it_answers_a_missing_page_with_the_friendly_404(settings, april, admin_client, debug, path):
    settings.DEBUG = debug
    # The admin's pages are the operators' (a staff user); the others an approver's.
    response = (admin_client if path.startswith("/admin/") else browser(april)).get(path)
    content = response.content.decode()
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
    assert '<h1>Page not found</h1>' in content and 'href="/approvals/"' in content
    assert "URLconf" not in content and "approvals/&lt;uuid" not in content


@pytest.mark.parametrize("debug", [True, False])
def test_api_paths_keep_their_json_404(settings, admin_api, debug):
    settings.DEBUG = debug
    for path in ("/api/v1/no-such-thing/", "/api/v1/approvals/00000000-0000-0000-0000-000000000000/"):
        response = admin_api.get(path)
        assert response.status_code == 404, path
        assert response["Content-Type"].startswith("application/json"), path
        assert "detail" in response.json()
