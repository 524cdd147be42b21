"""The native execution API: start, idempotency, read, logs, tasks, cancel, retry, synchronous runs."""

import json
from unittest import mock

import pytest
from django.db import transaction

from accounts.caller import Caller
from executions.api.serializers import ExecutionDetailSerializer
from executions.models import Execution, ExecutionStatus
from executions.services import clamp_wait
from records.models import ActionExecution
from tests.executions.factories import ExecutionFactory
from tests.records.factories import ActionFactory, RecordFactory, StageFactory
from tests.workflows.factories import WorkflowFactory

pytestmark = pytest.mark.django_db

SIMPLE = [
    {"name": "greet", "type": "set", "config": {"values": {"text": "hi {{ input.who }}"}}},
    {"name": "say", "type": "log", "config": {"message": "{{ tasks.greet.output.text }}", "level": "warning"},
     "depends_on": ["greet"]},
    {"name": "answer", "type": "response", "config": {"value": "{{ tasks.greet.output.text }}"}, "depends_on": ["say"]},
]


@pytest.fixture
def workflow(project_a):
    return WorkflowFactory(project=project_a, tasks=SIMPLE, alias="simple")


def start(client, capture, body, **headers):
    with capture(execute=True):
        return client.post("/api/v1/executions/", body, format="json", **headers)


def test_it_starts_an_execution_by_alias_and_runs_it(workflow_api, workflow, django_capture_on_commit_callbacks):
    response = start(workflow_api, django_capture_on_commit_callbacks, {"workflow": "simple", "input": {"who": "Ada"},
                                                                        "tags": {"env": "test"}})
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "queued" and body["workflow"] == str(workflow.id) and body["workflow_version"] == 1
    assert body["definition"]["tasks"][0]["name"] == "greet"
    detail = workflow_api.get(f"/api/v1/executions/{body['id']}/").json()
    assert (detail["status"], detail["return_value"], detail["tags"]) == ("succeeded", "hi Ada", {"env": "test"})
    assert detail["started_by"].startswith("key:")


def test_the_same_idempotency_key_returns_the_first_execution(workflow_api, workflow, django_capture_on_commit_callbacks):
    body = {"workflow": "simple", "input": {"who": "x"}}
    first = start(workflow_api, django_capture_on_commit_callbacks, body, HTTP_IDEMPOTENCY_KEY="k-1")
    again = start(workflow_api, django_capture_on_commit_callbacks, body, HTTP_IDEMPOTENCY_KEY="k-1")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert Execution.objects.count() == 1
    different = start(workflow_api, django_capture_on_commit_callbacks, {**body, "input": {"who": "y"}},
                      HTTP_IDEMPOTENCY_KEY="k-1")
    assert different.status_code == 422 and "Idempotency-Key" in different.json()["detail"]


def test_an_idempotency_key_longer_than_200_characters_is_a_400_naming_the_header(
        workflow_api, workflow, django_capture_on_commit_callbacks):
    body = {"workflow": "simple", "input": {"who": "x"}}
    response = start(workflow_api, django_capture_on_commit_callbacks, body, HTTP_IDEMPOTENCY_KEY="k" * 201)
    assert response.status_code == 400, response.content
    error = response.json()["errors"][0]
    assert error["field"] == "Idempotency-Key" and "200 characters" in error["message"]
    assert "Idempotency-Key" in response.json()["detail"]
    assert Execution.objects.count() == 0
    longest = start(workflow_api, django_capture_on_commit_callbacks, body, HTTP_IDEMPOTENCY_KEY="k" * 200)
    assert longest.status_code == 201


def test_a_viewer_cannot_start_anything(viewer_api, workflow):
    response = viewer_api.post("/api/v1/executions/", {"workflow": "simple"}, format="json")
    assert response.status_code == 403
    assert Execution.objects.count() == 0


def test_an_unknown_workflow_is_a_400_naming_the_field(workflow_api, project_a):
    response = workflow_api.post("/api/v1/executions/", {"workflow": "ghost"}, format="json")
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "workflow"


def test_a_disabled_workflow_cannot_start(workflow_api, project_a):
    WorkflowFactory(project=project_a, tasks=SIMPLE, alias="off", enabled=False)
    response = workflow_api.post("/api/v1/executions/", {"workflow": "off"}, format="json")
    assert response.status_code == 409 and "disabled" in response.json()["detail"]


def test_it_refuses_an_input_that_is_not_an_object(workflow_api, workflow):
    response = workflow_api.post("/api/v1/executions/", {"workflow": "simple", "input": [1]}, format="json")
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "input"


def test_another_tenant_gets_404_everywhere(outsider_api, workflow):
    execution = ExecutionFactory(workflow=workflow)
    for path in ("", "logs/", "tasks/", "tasks/greet/", "tasks/greet/logs/"):
        assert outsider_api.get(f"/api/v1/executions/{execution.id}/{path}").status_code == 404, path
    assert outsider_api.post(f"/api/v1/executions/{execution.id}/cancel/").status_code == 404
    assert outsider_api.get("/api/v1/executions/").json()["total"] == 0
    assert outsider_api.post("/api/v1/executions/", {"workflow": str(workflow.id)}, format="json").status_code == 400


def test_a_malformed_id_is_a_404_not_a_500(admin_api, project_a):
    assert admin_api.get("/api/v1/executions/not-a-uuid/").status_code == 404


def test_it_answers_the_logs_the_tasks_and_a_tasks_logs(admin_api, workflow, django_capture_on_commit_callbacks):
    execution_id = start(admin_api, django_capture_on_commit_callbacks, {"workflow": "simple", "input": {"who": "Bo"}}).json()["id"]
    tasks = admin_api.get(f"/api/v1/executions/{execution_id}/tasks/").json()
    assert [(t["name"], t["status"], t["attempts"]) for t in tasks["items"]] == [
        ("greet", "succeeded", 1), ("say", "succeeded", 1), ("answer", "succeeded", 1)]
    greet = admin_api.get(f"/api/v1/executions/{execution_id}/tasks/{tasks['items'][0]['id']}/").json()
    assert greet["output"] == {"text": "hi Bo"}
    logs = admin_api.get(f"/api/v1/executions/{execution_id}/logs/").json()
    messages = [line["message"] for line in logs["items"]]
    assert messages[0].startswith("Execution queued") and messages[-1] == "Execution succeeded."
    warnings = admin_api.get(f"/api/v1/executions/{execution_id}/logs/?level=warning").json()
    assert [line["message"] for line in warnings["items"]] == ["hi Bo"]
    say_logs = admin_api.get(f"/api/v1/executions/{execution_id}/tasks/say/logs/").json()
    assert "hi Bo" in [line["message"] for line in say_logs["items"]]


def test_it_filters_the_list(admin_api, workflow, project_a):
    other = WorkflowFactory(project=project_a, tasks=SIMPLE)
    ExecutionFactory(workflow=workflow, tags={"env": "prod"}, linked_account_id="john@acme.io")
    ExecutionFactory(workflow=other, tags={"env": "dev"})
    ids = lambda q: admin_api.get(f"/api/v1/executions/?{q}").json()["total"]  # noqa: E731
    assert ids("") == 2
    assert ids(f"workflow={workflow.id}") == 1
    assert ids("tag=env:prod") == 1
    assert ids("linked_account_id=john@acme.io") == 1
    assert ids("status=queued,running") == 2
    assert ids("status=succeeded") == 0
    assert ids("started_by=system") == 2
    assert ids("created_after=2000-01-01T00:00:00Z") == 2
    assert ids("created_before=2000-01-01T00:00:00Z") == 0


def test_a_tag_filter_counts_its_total_to_a_lower_cap(admin_api, workflow):
    """The tags' index finds the rows, but counting them reads each: a tag filter counts to TAG_COUNT_CAP."""
    for _ in range(3):
        ExecutionFactory(workflow=workflow, tags={"team": "ops"})
    with mock.patch("executions.api.views.TAG_COUNT_CAP", 2):
        tagged = admin_api.get("/api/v1/executions/?tag=team:ops").json()
        everything = admin_api.get("/api/v1/executions/").json()
    assert (tagged["total"], tagged["total_capped"], len(tagged["items"])) == (2, True, 3)
    assert (everything["total"], everything["total_capped"]) == (3, False)


@pytest.mark.parametrize("count", [2, 40])
def test_the_list_costs_the_same_queries_whatever_its_size(admin_api, workflow, count, django_assert_max_num_queries):
    for _ in range(count):
        ExecutionFactory(workflow=workflow)
    # key look-up, key last_used_at (first use), COUNT, one page query with workflow, version and
    # performer joined, then one query per link of the page's rows: actions, flow runs (and their
    # runs, read only when a row has one), schedules
    with django_assert_max_num_queries(8):
        response = admin_api.get("/api/v1/executions/?limit=100")
    assert len(response.json()["items"]) == count


def test_the_list_leaves_the_definitions_in_the_database(admin_api, workflow):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    ExecutionFactory(workflow=workflow)
    with CaptureQueriesContext(connection) as queries:
        items = admin_api.get("/api/v1/executions/").json()["items"]
    assert (items[0]["workflow_name"], items[0]["workflow_version"]) == (workflow.name, 1)
    assert not [query["sql"] for query in queries if '"definition"' in query["sql"]]


def test_cancelling_a_queued_execution_is_immediate_and_a_second_cancel_is_409(admin_api, workflow):
    execution = ExecutionFactory(workflow=workflow)
    response = admin_api.post(f"/api/v1/executions/{execution.id}/cancel/")
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    assert set(Execution.objects.get(pk=execution.pk).task_runs.values_list("status", flat=True)) == {"cancelled"}
    again = admin_api.post(f"/api/v1/executions/{execution.id}/cancel/")
    assert again.status_code == 409 and "cancelled" in again.json()["detail"]


def test_cancelling_a_waiting_execution_cancels_its_approvals(admin_api, project_a):
    from approvals.models import Approval

    wf = WorkflowFactory(project=project_a, tasks=[{"name": "ok", "type": "approval", "config": {}}])
    execution = ExecutionFactory(workflow=wf, run=True)
    assert Execution.objects.get(pk=execution.pk).status == ExecutionStatus.WAITING
    assert admin_api.post(f"/api/v1/executions/{execution.id}/cancel/").json()["status"] == "cancelled"
    assert Approval.objects.get(execution=execution).status == "cancelled"


def test_a_failed_execution_retries_from_its_failed_tasks(admin_api, project_a, tmp_path, django_capture_on_commit_callbacks):
    counter = tmp_path / "count"
    wf = WorkflowFactory(project=project_a, tasks=[
        {"name": "first", "type": "set", "config": {"values": {"n": 1}}},
        {"name": "shaky", "type": "flaky", "config": {"counter_file": str(counter), "succeed_on_attempt": 2},
         "depends_on": ["first"]},
        {"name": "last", "type": "response", "config": {"value": "{{ tasks.shaky.output }}"}, "depends_on": ["shaky"]},
    ])
    execution = ExecutionFactory(workflow=wf, run=True)
    execution.refresh_from_db()
    assert execution.status == "failed"
    first_started = execution.task_runs.get(name="first").started_at
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_api.post(f"/api/v1/executions/{execution.id}/retry/")
    assert response.status_code == 200
    execution.refresh_from_db()
    assert (execution.status, execution.attempt, execution.return_value) == ("succeeded", 2, {"attempts_seen": 2})
    assert execution.task_runs.get(name="first").started_at == first_started  # kept, not re-run
    assert admin_api.post(f"/api/v1/executions/{execution.id}/retry/").status_code == 409


def test_it_counts_the_attempts_of_a_retried_task(admin_api, project_a, tmp_path):
    wf = WorkflowFactory(project=project_a, tasks=[
        {"name": "shaky", "type": "flaky", "retries": 3, "retry_backoff": {"type": "fixed", "delay": 0},
         "config": {"counter_file": str(tmp_path / "c"), "succeed_on_attempt": 3}}])
    execution = ExecutionFactory(workflow=wf, run=True)
    run = execution.task_runs.get()
    assert (run.status, run.attempts) == ("succeeded", 3)
    assert execution.logs.filter(level="warning", message__contains="retrying").count() == 2


@pytest.mark.django_db(transaction=True)
def test_it_waits_and_answers_with_the_return_value(tenant_a, project_a):
    from tests.conftest import key_client

    client = key_client(tenant_a, "workflow")
    WorkflowFactory(project=project_a, tasks=SIMPLE, alias="simple")
    response = client.post("/api/v1/executions/?wait=10", {"workflow": "simple", "input": {"who": "sync"}}, format="json")
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["return_value"]) == ("succeeded", "hi sync")


@pytest.mark.django_db(transaction=True)
def test_it_answers_202_with_the_execution_when_the_wait_runs_out(tenant_a, project_a):
    from tests.conftest import key_client

    client = key_client(tenant_a, "workflow")
    WorkflowFactory(project=project_a, tasks=[{"name": "hold", "type": "approval", "config": {}}],
                    alias="held")
    response = client.post("/api/v1/executions/?wait=0.3", {"workflow": "held"}, format="json")
    assert response.status_code == 202
    assert response.json()["status"] == "waiting"


def test_it_still_retries_a_failing_skip_on_error_task_while_waiting(workflow_api, project_a, tmp_path,
                                                         django_capture_on_commit_callbacks):
    # Not retrying skip_on_error tasks is Refold's sync_execution rule; a native wait changes nothing.
    WorkflowFactory(project=project_a, tasks=[
        {"name": "shaky", "type": "flaky", "retries": 2, "skip_on_error": True,
         "retry_backoff": {"type": "fixed", "delay": 0},
         "config": {"counter_file": str(tmp_path / "count"), "succeed_on_attempt": 2}},
    ], alias="shaky")
    response = start(workflow_api, django_capture_on_commit_callbacks, {"workflow": "shaky"},
                     QUERY_STRING="wait=0")
    assert response.status_code == 202
    execution = Execution.objects.get(pk=response.json()["id"])
    run = execution.task_runs.get()
    assert (execution.retry_policy, execution.status, run.status, run.attempts) == ("as_defined", "succeeded", "succeeded", 2)


def test_it_refuses_a_wait_that_is_not_a_number(workflow_api, workflow):
    response = workflow_api.post("/api/v1/executions/?wait=soon", {"workflow": "simple"}, format="json")
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "wait"


@pytest.mark.parametrize("extra_lines", [0, 60])
def test_logs_and_tasks_lists_cost_the_same_queries_whatever_their_size(
        admin_api, workflow, extra_lines, django_assert_max_num_queries):
    from executions.engine import LogBuffer

    execution = ExecutionFactory(workflow=workflow)
    buffer = LogBuffer(execution.id)
    for i in range(extra_lines):
        buffer.add("info", f"line {i}")
    buffer.flush()
    admin_api.get("/api/v1/me")  # the key's first use writes last_used_at; keep it out of the count
    # key look-up, execution look-up, COUNT, page
    with django_assert_max_num_queries(4):
        logs = admin_api.get(f"/api/v1/executions/{execution.id}/logs/?limit=100").json()
    assert len(logs["items"]) == extra_lines + 1
    with django_assert_max_num_queries(4):
        tasks = admin_api.get(f"/api/v1/executions/{execution.id}/tasks/?limit=100").json()
    assert len(tasks["items"]) == 3


def test_one_executions_answer_is_the_serializers_read_in_two_queries(
        admin_api, tenant_a, project_a, alice, django_assert_num_queries):
    board = WorkflowFactory(project=project_a, tasks=[{"name": "a", "type": "log", "config": {"message": "x"}}],
                            name="Board")
    StageFactory(workflow=board, name="New")
    record = RecordFactory(workflow=board, fields={})
    action = ActionFactory(workflow=board, name="Go", steps={"tasks": []})
    caller = Caller(tenant=tenant_a, role="admin", user=alice)
    with transaction.atomic():
        execution = ExecutionFactory(caller=caller, workflow=board, input={"n": 1}, tags={"t": "v"},
                                     performed_by=alice, options={"flow_run": "report-1"})
        ActionExecution.objects.create(execution=execution, action=action, record=record)

    admin_api.get(f"/api/v1/executions/{execution.id}/")  # the key's first use notes when it was used
    # 1. the API key (with its tenant)  2. the execution, its workflow, version, links and performer
    with django_assert_num_queries(2):
        response = admin_api.get(f"/api/v1/executions/{execution.id}/")
    assert response.status_code == 200
    expected = ExecutionDetailSerializer(Execution.objects.get(pk=execution.pk)).data
    assert response.json() == json.loads(json.dumps(expected, default=str))
    assert (response.json()["action"], response.json()["record"], response.json()["flow_run"]) == (
        str(action.id), str(record.id), "report-1")
    assert response.json()["performed_by"] == "alice@example.com"


@pytest.mark.parametrize("raw", ["nan", "NaN"])
def test_it_refuses_nan_seconds_as_a_wait(raw):
    with pytest.raises(ValueError):
        clamp_wait(raw)


def test_it_bounds_an_infinite_wait(settings):
    assert clamp_wait("inf") == settings.FLOWGATE_MAX_SYNC_WAIT_SECONDS
