"""The operators' execution list and execution page under /admin/ (graph, timeline, logs, controls)."""

from __future__ import annotations

import re

import pytest

from approvals.models import Approval
from executions.engine import LogBuffer
from executions.models import Execution, ExecutionStatus, RetryPolicy
from tests.accounts.factories import ApiKeyFactory
from tests.executions.factories import ExecutionFactory
from tests.workflows.factories import WorkflowFactory
from workflows import services as workflows

pytestmark = pytest.mark.django_db

LIST = "/admin/executions/execution/"


def page(execution) -> str:
    return f"/admin/executions/execution/{execution.id}/change/"


def failing_workflow(project, counter_file, **kwargs):
    return WorkflowFactory(project=project, name="nightly-report", tasks=[
        {"name": "fetch", "type": "set", "config": {"values": {"rows": 3}}},
        {"name": "process", "type": "flaky", "depends_on": ["fetch"],
         "config": {"counter_file": str(counter_file), "succeed_on_attempt": 2}},
        {"name": "report", "type": "response", "depends_on": ["process"], "config": {"value": "done"}},
    ], **kwargs)


@pytest.fixture
def failed(project_a, tmp_path):
    return ExecutionFactory(workflow=failing_workflow(project_a, tmp_path / "count"), run=True)


def test_the_list_shows_short_ids_errors_seconds_and_durations(admin_client, failed):
    body = admin_client.get(LIST).content.decode()
    short = str(failed.id)[:8]
    assert f'title="{failed.id}">{short}</span>' in body
    assert "process: RuntimeError: flaky failure 1" in body
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", body)
    assert re.search(r"\d+\.\d\d s</td>", body)  # a duration
    assert 'class="fg-badge"' in body and ">failed</span>" in body
    assert "_facets" not in body  # no "Show counts": it would count the whole table per filter choice


def test_the_list_filters_by_status_and_workflow(admin_client, project_a, failed):
    other = ExecutionFactory(workflow=WorkflowFactory(project=project_a, name="other-flow", tasks=[
        {"name": "a", "type": "set", "config": {"values": {}}}]), run=True)
    by_status = admin_client.get(LIST, {"status__exact": "failed"}).context["cl"].result_list
    assert [e.id for e in by_status] == [failed.id]
    by_workflow = admin_client.get(LIST, {"workflow": str(other.workflow_id)}).context["cl"].result_list
    assert [e.id for e in by_workflow] == [other.id]
    assert admin_client.get(LIST, {"workflow": "not-an-id"}).status_code == 302  # Django's "?e=1" answer


def test_the_page_draws_the_graph_with_each_tasks_status(admin_client, failed):
    body = admin_client.get(page(failed)).content.decode()
    assert '<svg xmlns="http://www.w3.org/2000/svg" class="dag" role="img"' in body
    assert 'class="dag-node status-succeeded" data-task="fetch"' in body
    assert 'class="dag-node status-failed" data-task="process"' in body
    assert 'class="dag-node status-skipped" data-task="report"' in body
    assert "process (flaky, failed) runs after fetch." in body  # the drawing in words
    assert 'class="fg-legend"' in body


def test_the_page_shows_the_pinned_version_and_hides_the_fingerprint(admin_client, project_a, failed):
    workflows.update_workflow(failed.workflow, definition={"tasks": [
        {"name": "only", "type": "set", "config": {"values": {}}}]})
    body = admin_client.get(page(failed)).content.decode()
    assert re.search(r'data-testid="definition"><a href="[^"]+">v1</a>', body)
    assert failed.request_fingerprint not in body
    assert 'data-testid="synchronous">no<' in body
    synchronous = ExecutionFactory(workflow=failed.workflow, retry_policy=RetryPolicy.REQUIRED_ONLY)
    assert 'data-testid="synchronous">yes<' in admin_client.get(page(synchronous)).content.decode()


def test_the_timeline_lists_each_task_run_with_start_duration_and_attempts(admin_client, failed):
    response = admin_client.get(page(failed))
    rows = {row["run"].name: row for row in response.context["timeline"]}
    assert rows["fetch"]["width"] > 0 and rows["fetch"]["duration"].endswith(" s")
    assert rows["process"]["run"].attempts == 1
    assert rows["report"]["width"] == 0  # skipped: never started
    assert 'class="fg-bar fg-failed"' in response.content.decode()


def test_the_logs_are_newest_first_and_filter_by_task_and_level(admin_client, failed):
    logs = admin_client.get(page(failed)).context["logs"]
    stamps = [(log.timestamp, log.id) for log in logs]
    assert stamps == sorted(stamps, reverse=True)
    assert logs[0].message.startswith("Execution failed.")

    only_process = admin_client.get(page(failed), {"task": "process"}).context["logs"]
    assert only_process and {log.task_run.name for log in only_process} == {"process"}
    errors = admin_client.get(page(failed), {"level": "error"}).context["logs"]
    assert errors and {log.level for log in errors} == {"error"}
    # An unknown task or level is no filter (the page names the choices it offers).
    assert len(admin_client.get(page(failed), {"level": "loud"}).context["logs"]) == len(logs)


def test_the_page_shows_outputs_and_controls_that_fit_the_status(admin_client, failed):
    body = admin_client.get(page(failed)).content.decode()
    assert "Output of fetch" in body and "&quot;rows&quot;: 3" in body
    assert f'action="/admin/executions/execution/{failed.id}/retry/"' in body
    assert ">Retry from process</button>" in body
    assert f'action="/admin/executions/execution/{failed.id}/cancel/"' not in body  # finished: no Cancel
    assert f'href="/approvals/executions/{failed.id}/"' in body
    assert f'href="/api/v1/executions/{failed.id}/"' in body
    assert f'href="/admin/executions/log/?execution={failed.id}"' in body


def test_the_live_fragment_says_whether_to_keep_polling(admin_client, project_a, failed):
    queued = ExecutionFactory(workflow=failed.workflow)
    running = admin_client.get(f"/admin/executions/execution/{queued.id}/live/")
    assert running.status_code == 200 and running["X-Execution-Finished"] == "false"
    assert 'class="dag"' in running.content.decode() and "<html" not in running.content.decode()
    ended = admin_client.get(f"/admin/executions/execution/{failed.id}/live/", {"task": "process"})
    assert ended["X-Execution-Finished"] == "true"
    assert {log.task_run.name for log in ended.context["logs"]} == {"process"}
    body = admin_client.get(page(queued)).content.decode()
    assert 'data-finished="false"' in body and "flowgate-console.js" in body


def test_cancel_goes_through_the_service_and_is_logged_with_the_operator(admin_client, failed):
    queued = ExecutionFactory(workflow=failed.workflow)
    response = admin_client.post(f"/admin/executions/execution/{queued.id}/cancel/")
    assert response.status_code == 302 and response["Location"] == page(queued)
    queued.refresh_from_db()
    assert queued.status == ExecutionStatus.CANCELLED
    assert queued.logs.filter(message="Cancel requested by admin.").exists()


def test_cancelling_a_finished_execution_explains_why_not(admin_client, failed):
    response = admin_client.post(f"/admin/executions/execution/{failed.id}/cancel/", follow=True)
    assert "has already ended (failed)" in response.content.decode()
    assert Execution.objects.get(pk=failed.pk).status == ExecutionStatus.FAILED


def test_retry_and_retry_from_go_through_the_services(admin_client, failed, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(f"/admin/executions/execution/{failed.id}/retry-from/", {"task": "process"})
    assert response.status_code == 302
    failed.refresh_from_db()
    assert (failed.status, failed.attempt, failed.return_value) == ("succeeded", 2, "done")
    assert failed.logs.filter(message__startswith="Retry from task process (attempt 2) requested by admin").exists()
    again = admin_client.post(f"/admin/executions/execution/{failed.id}/retry/", follow=True)
    assert "only failed executions can be retried" in again.content.decode()


def test_retry_from_needs_a_task_and_a_post(admin_client, failed):
    response = admin_client.post(f"/admin/executions/execution/{failed.id}/retry-from/", {})
    assert response.status_code == 400 and b"Name the task" in response.content
    unknown = admin_client.post(f"/admin/executions/execution/{failed.id}/retry-from/", {"task": "nope"}, follow=True)
    assert "has no task &#x27;nope&#x27;" in unknown.content.decode()
    assert admin_client.get(f"/admin/executions/execution/{failed.id}/retry/").status_code == 405
    assert Execution.objects.get(pk=failed.pk).status == ExecutionStatus.FAILED


def test_the_pages_are_for_staff_only(client, failed):
    for path in (page(failed), f"/admin/executions/execution/{failed.id}/live/"):
        response = client.get(path)
        assert response.status_code == 302 and "/admin/login/" in response["Location"]
    assert client.post(f"/admin/executions/execution/{failed.id}/retry/").status_code == 302
    assert Execution.objects.get(pk=failed.pk).attempt == 1


def test_the_execution_list_costs_the_same_queries_for_many_rows(admin_client, project_a, tmp_path,
                                                                 django_assert_max_num_queries):
    workflow = failing_workflow(project_a, tmp_path / "count")
    for _ in range(25):
        ExecutionFactory(workflow=workflow, run=True)
    # session, user, the workflow filter's choices, the tenant filter's choices, the capped count,
    # the page of executions with their workflows
    with django_assert_max_num_queries(8):
        assert admin_client.get(LIST, {"status__exact": "failed"}).status_code == 200


def test_the_log_list_is_newest_first_with_seconds_and_filters_by_execution(admin_client, failed, project_a,
                                                                          django_assert_max_num_queries):
    other = ExecutionFactory(workflow=failed.workflow)
    buffer = LogBuffer(other.id)
    buffer.add("info", "from the other one")
    buffer.flush()
    with django_assert_max_num_queries(8):
        response = admin_client.get("/admin/executions/log/", {"execution": str(failed.id)})
    rows = list(response.context["cl"].result_list)
    assert rows and {log.execution_id for log in rows} == {failed.id}
    assert [(r.timestamp, r.id) for r in rows] == sorted([(r.timestamp, r.id) for r in rows], reverse=True)
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}", response.content.decode())
    assert admin_client.get("/admin/executions/log/", {"execution": "zzz"}).status_code == 302


def test_the_page_and_its_refresh_cost_the_same_queries_for_many_tasks_and_logs(admin_client, project_a,
                                                                                 django_assert_max_num_queries):
    tasks = [{"name": f"t{i}", "type": "log", "config": {"message": f"line {i}"},
              **({"depends_on": [f"t{i - 1}"]} if i else {})} for i in range(12)]
    execution = ExecutionFactory(workflow=WorkflowFactory(project=project_a, tasks=tasks), run=True)
    assert execution.logs.count() > 30
    # session, user, the execution with its workflow, version, tenant, project and parent, its task
    # runs, its newest logs with their task runs, its approvals
    with django_assert_max_num_queries(6):
        assert admin_client.get(page(execution)).status_code == 200
    # session, user, the execution, its task runs, its newest logs, its approvals (fetched on each
    # event of its stream while it runs)
    with django_assert_max_num_queries(6):
        assert admin_client.get(f"/admin/executions/execution/{execution.id}/live/").status_code == 200


def test_a_waiting_execution_links_to_its_approval_and_offers_cancel(admin_client, project_a, april):
    workflow = WorkflowFactory(project=project_a, tasks=[
        {"name": "approve", "type": "approval", "config": {"title": "Expense of 480 EUR",
                                                           "approvers": {"users": ["april"]}}}])
    execution = ExecutionFactory(workflow=workflow, run=True)
    assert execution.status == ExecutionStatus.WAITING
    approval = Approval.objects.get(execution=execution)
    body = admin_client.get(page(execution)).content.decode()
    assert f'<a href="/approvals/{approval.id}/">Expense of 480 EUR</a> - pending' in body
    assert 'class="dag-node status-waiting" data-task="approve"' in body
    assert f'action="/admin/executions/execution/{execution.id}/cancel/"' in body
    assert f'action="/admin/executions/execution/{execution.id}/retry/"' not in body


@pytest.fixture
def viewer_client(client, django_user_model):
    """A staff member who may look at executions and workflows but not act on them."""
    from django.contrib.auth.models import Permission

    viewer = django_user_model.objects.create_user("vera", password="pw-vera-12345", is_staff=True)
    viewer.user_permissions.set(Permission.objects.filter(
        codename__in=["view_execution", "view_log", "view_workflow"]))
    client.force_login(viewer)
    return client


def test_a_staff_member_who_may_only_view_sees_no_controls_and_cannot_act(viewer_client, failed, project_a):
    body = viewer_client.get(page(failed)).content.decode()
    assert "Output of fetch" in body  # the page itself is theirs to read
    assert f"/admin/executions/execution/{failed.id}/retry/" not in body
    assert ">Retry from process</button>" not in body
    assert viewer_client.get(f"/admin/executions/execution/{failed.id}/live/").status_code == 200
    for action in ("retry", "cancel"):
        assert viewer_client.post(f"/admin/executions/execution/{failed.id}/{action}/").status_code == 403
    assert viewer_client.post(f"/admin/executions/execution/{failed.id}/retry-from/",
                              {"task": "process"}).status_code == 403
    failed.refresh_from_db()
    assert (failed.status, failed.attempt) == (ExecutionStatus.FAILED, 1)
    # Nor from the list's actions.
    response = viewer_client.post(LIST, {"action": "retry_executions", "_selected_action": [str(failed.id)]})
    failed.refresh_from_db()
    assert failed.attempt == 1, response.status_code

    workflow = failed.workflow
    workflow_page = viewer_client.get(f"/admin/workflows/workflow/{workflow.id}/change/").content.decode()
    assert 'data-testid="run-form"' not in workflow_page
    assert viewer_client.post(f"/admin/workflows/workflow/{workflow.id}/run/", {"input": "{}"}).status_code == 403
    assert not Execution.objects.filter(workflow=workflow).exclude(pk=failed.pk).exists()


def test_a_staff_member_who_may_not_view_executions_gets_no_live_fragment(client, django_user_model, failed):
    client.force_login(django_user_model.objects.create_user("olga", password="pw-olga-12345", is_staff=True))
    assert client.get(f"/admin/executions/execution/{failed.id}/live/").status_code == 403


def test_the_list_and_the_page_name_who_started_it_in_words(admin_client, project_a):
    execution = ExecutionFactory(workflow=WorkflowFactory(project=project_a, tasks=[
        {"name": "a", "type": "set", "config": {"values": {}}}]), started_by_label="key:nightly cron")
    by_system = ExecutionFactory(workflow=execution.workflow)
    assert "API key “nightly cron”" in admin_client.get(LIST).content.decode()
    body = admin_client.get(page(execution)).content.decode()
    assert 'data-testid="started-by">API key “nightly cron”</dd>' in body
    assert 'data-testid="started-by">Flowgate (system)</dd>' in admin_client.get(page(by_system)).content.decode()


@pytest.mark.parametrize("changelist", ["/admin/executions/taskrun/", "/admin/workflows/workflow/",
                                        "/admin/accounts/apikey/", "/admin/executions/log/"])
def test_every_admin_list_shows_times_to_the_second(admin_client, failed, changelist):
    ApiKeyFactory(tenant=failed.tenant)
    body = admin_client.get(changelist).content.decode()
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", body) or re.search(r">\d\d:\d\d:\d\d", body), changelist
    assert not re.search(r"(a\.m\.|p\.m\.)", body)
