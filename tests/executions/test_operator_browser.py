"""Operators in a real browser: Chromium (Playwright) against a live server with a real Celery worker.

The journeys: find a failed execution in the list, read its logs, retry it from the failed task and
watch the page follow it to its end; run a workflow from its page; copy a new API key.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from executions.models import Execution, TaskRun
from tests.conftest import PASSWORD, ROOT, wait_until
from tests.executions.factories import ExecutionFactory
from tests.support.browser import TIMEOUT_MS, browser  # noqa: F401 (the shared Chromium fixture)
from tests.workflows.factories import WorkflowFactory

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.postgres, pytest.mark.redis,
              pytest.mark.django_db(transaction=True)]

# Wide enough for the list's columns and the execution page's timeline.
VIEWPORT = {"width": 1360, "height": 900}


@pytest.fixture
def output_dir() -> Path:
    folder = Path(os.environ.get("FLOWGATE_TEST_OUTPUT") or ROOT / "test-output") / "operators"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def nightly_report(project, counter_file):
    """fetch -> process (fails on its first run) -> report."""
    return WorkflowFactory(project=project, name="nightly-report", alias="nightly-report", tasks=[
        {"name": "fetch", "type": "set", "config": {"values": {"rows": 3, "source": "warehouse"}}},
        {"name": "process", "type": "flaky", "depends_on": ["fetch"],
         "config": {"counter_file": str(counter_file), "succeed_on_attempt": 2}},
        {"name": "report", "type": "response", "depends_on": ["process"],
         "config": {"value": {"rows": "{{ tasks.fetch.output.rows }}", "day": "{{ input.day }}"}}},
    ])


def operator_page(browser, live_server, admin_user):  # noqa: F811 (the fixture's value, passed on)
    page = browser.new_page(viewport=VIEWPORT)
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(f"{live_server.url}/admin/login/?next=/admin/")
    page.fill("#id_username", admin_user.username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")
    return page


def test_an_operator_finds_a_failed_execution_reads_its_logs_and_retries_it_from_the_failed_task(
        browser, live_server, live_worker, admin_user, project_a, tmp_path, output_dir):  # noqa: F811
    from playwright.sync_api import expect

    workflow = nightly_report(project_a, tmp_path / "count")
    execution = ExecutionFactory(workflow=workflow, input={"day": "2026-11-29"})
    wait_until(lambda: Execution.objects.filter(pk=execution.pk, status="failed").exists(), timeout=60)
    fetched = TaskRun.objects.get(execution=execution, name="fetch")

    page = operator_page(browser, live_server, admin_user)
    page.goto(f"{live_server.url}/admin/executions/execution/")
    page.locator("#changelist-filter").get_by_role("link", name="Failed", exact=True).click()
    row = page.locator("#result_list tbody tr", has_text="nightly-report")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("flaky failure 1")
    short = str(execution.id)[:8]
    expect(row.locator(f'[title="{execution.id}"]')).to_have_text(short)
    page.screenshot(path=str(output_dir / "execution-list.png"), full_page=True)

    row.get_by_role("link", name=short).click()
    expect(page.get_by_test_id("execution-status")).to_have_text("failed")
    expect(page.get_by_test_id("definition")).to_have_text("v1")
    expect(page.locator("svg.dag g.status-failed")).to_have_attribute("data-task", "process")
    expect(page.locator("svg.dag title").first).to_have_text("Tasks of execution " + short + " and their status")
    logs = page.get_by_test_id("logs")
    expect(logs.locator("tbody tr").first).to_contain_text("Execution failed.")  # newest first
    page.select_option("select[name=task]", "process")
    page.get_by_role("button", name="Filter").click()
    expect(logs).to_contain_text("RuntimeError: flaky failure 1")
    expect(logs).not_to_contain_text("Execution queued")
    page.screenshot(path=str(output_dir / "execution-failed.png"), full_page=True)

    page.get_by_role("button", name="Retry from process").click()
    expect(page.locator(".messagelist")).to_contain_text("Queued again from task process")
    # The page follows the execution (its stream, or its live fragment every 2 s where the server
    # cannot stream, as this test's does not) and brings its status and controls up to date in place.
    expect(page.get_by_test_id("execution-status")).to_have_text("succeeded", timeout=TIMEOUT_MS)
    expect(page.get_by_test_id("return-value")).to_contain_text('"day": "2026-11-29"')
    expect(page.locator("svg.dag g.status-failed")).to_have_count(0)
    expect(page.get_by_role("button", name="Retry", exact=True)).to_have_count(0)  # succeeded: nothing to retry
    expect(page.locator(".messagelist")).to_contain_text("Queued again from task process")  # no reload
    page.screenshot(path=str(output_dir / "execution-retried.png"), full_page=True)

    execution.refresh_from_db()
    assert (execution.status, execution.attempt) == ("succeeded", 2)
    again = TaskRun.objects.get(execution=execution, name="fetch")
    assert (again.attempts, again.started_at) == (1, fetched.started_at)  # upstream output reused, not re-run
    page.close()


def test_an_operator_runs_a_workflow_from_its_page(browser, live_server, live_worker, admin_user, project_a,  # noqa: F811
                                                   tmp_path, output_dir):
    from playwright.sync_api import expect

    workflow = WorkflowFactory(project=project_a, name="greeting", tasks=[
        {"name": "hello", "type": "set", "config": {"values": {"greeting": "Hello {{ input.name }}"}}},
        {"name": "pause", "type": "sleep", "depends_on": ["hello"], "config": {"seconds": 1}},
        {"name": "answer", "type": "response", "depends_on": ["pause"],
         "config": {"value": "{{ tasks.hello.output.greeting }}"}},
    ])
    page = operator_page(browser, live_server, admin_user)
    page.goto(f"{live_server.url}/admin/workflows/workflow/{workflow.id}/change/")
    expect(page.get_by_test_id("workflow-graph").locator("g.dag-node")).to_have_count(3)
    expect(page.locator("textarea[name=definition]")).to_have_class("fg-definition")
    page.fill("textarea[name=input]", "[1, 2]")
    page.get_by_role("button", name="Run", exact=True).click()
    expect(page.get_by_test_id("run-errors")).to_contain_text("must be a JSON object")
    page.fill("textarea[name=input]", '{"name": "Ada"}')
    page.locator("#run").screenshot(path=str(output_dir / "workflow-run-form.png"))
    page.get_by_role("button", name="Run", exact=True).click()

    page.wait_for_url("**/admin/executions/execution/*/change/")
    expect(page.get_by_test_id("execution-status")).to_have_text("succeeded", timeout=TIMEOUT_MS)
    expect(page.get_by_test_id("return-value")).to_contain_text('"Hello Ada"')
    page.screenshot(path=str(output_dir / "execution-succeeded.png"), full_page=True)
    execution = Execution.objects.get(workflow=workflow)
    assert (execution.input, execution.started_by_label) == ({"name": "Ada"}, admin_user.username)

    page.goto(f"{live_server.url}/admin/workflows/workflow/{workflow.id}/change/")
    page.screenshot(path=str(output_dir / "workflow-page.png"), full_page=True)
    page.close()


def test_an_operator_copies_a_new_api_key(browser, live_server, admin_user, tenant_a, output_dir):  # noqa: F811
    from playwright.sync_api import expect

    page = operator_page(browser, live_server, admin_user)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    page.goto(f"{live_server.url}/admin/accounts/apikey/add/")
    page.locator(".field-tenant .select2-selection").click()  # the admin's autocomplete box
    page.locator(".select2-search__field").fill(tenant_a.slug)
    page.locator(".select2-results__option", has_text=tenant_a.name).click()
    page.fill("#id_name", "ci")
    page.select_option("#id_role", "workflow")
    page.get_by_role("button", name="Save", exact=True).click()
    secret = page.locator("#fg-new-key").input_value()
    assert secret.startswith("fg_")
    button = page.locator("[data-copy-target=fg-new-key]")
    button.click()
    expect(button).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == secret
    page.screenshot(path=str(output_dir / "api-key-copied.png"))
    page.close()


def test_the_operator_pages_have_no_serious_accessibility_violations(
        browser, live_server, live_worker, admin_user, project_a, tmp_path):  # noqa: F811
    from tests.support.accessibility import axe_violations, describe

    workflow = nightly_report(project_a, tmp_path / "count")
    execution = ExecutionFactory(workflow=workflow, input={"day": "2026-11-29"})
    # Checked once the run has failed: the page then shows every kind of badge and control at once
    # (succeeded, failed and skipped tasks, Retry and Retry-from buttons).
    wait_until(lambda: Execution.objects.filter(pk=execution.pk, status="failed").exists(), timeout=60)
    page = operator_page(browser, live_server, admin_user)
    for path in ("/admin/executions/execution/", f"/admin/executions/execution/{execution.id}/change/",
                 f"/admin/workflows/workflow/{workflow.id}/change/", "/admin/executions/log/"):
        page.goto(f"{live_server.url}{path}")
        violations = axe_violations(page)
        assert violations == [], f"{path}:\n{describe(violations)}"
    page.close()
