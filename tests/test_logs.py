"""Log lines: the engine's one line per execution start and end, and the JSON format's ids."""

from __future__ import annotations

import io
import json
import logging
import uuid

import pytest
from django.test import RequestFactory
from django.urls import resolve

from config.logs import ContextFilter, JsonFormatter, RequestContextMiddleware, log_context
from executions.models import ExecutionStatus, TaskRun
from executions.services import sweep
from tests.conftest import wait_until
from tests.executions.factories import ExecutionFactory
from tests.workflows.factories import WorkflowFactory


@pytest.fixture
def json_lines():
    """The lines logged under ``flowgate`` meanwhile, as the JSON format writes them, parsed."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(ContextFilter())
    logger = logging.getLogger("flowgate")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


@pytest.mark.django_db
def test_an_execution_logs_one_start_and_one_end_line_with_workflow_status_and_duration(project_a, json_lines):
    workflow = WorkflowFactory(project=project_a, name="nightly report", tasks=[
        {"name": "a", "type": "set", "config": {"values": {"x": 1}}},
        {"name": "b", "type": "set", "config": {"values": {"y": 2}}, "depends_on": ["a"]},
    ])
    execution = ExecutionFactory(workflow=workflow, run=True)
    assert execution.status == ExecutionStatus.SUCCEEDED

    lines = [line for line in json_lines() if line["logger"] == "flowgate.engine"
             and line.get("execution_id") == str(execution.id)]
    assert [line["status"] for line in lines] == ["running", "succeeded"]
    start, end = lines
    assert start["message"] == f"execution {execution.id} of workflow 'nightly report' started (attempt 1)"
    assert start["level"] == "INFO" and start["workflow"] == "nightly report"
    assert end["workflow"] == "nightly report"
    assert end["duration_seconds"] == round((execution.ended_at - execution.started_at).total_seconds(), 3)
    assert end["message"] == (f"execution {execution.id} of workflow 'nightly report' succeeded "
                              f"in {end['duration_seconds']:.3f} s")


@pytest.mark.django_db
def test_a_line_logged_while_a_task_runs_carries_the_execution_and_task_run_ids(project_a, json_lines, tmp_path):
    workflow = WorkflowFactory(project=project_a, tasks=[
        {"name": "shaky", "type": "flaky", "config": {"counter_file": str(tmp_path / "n"), "succeed_on_attempt": 9}}])
    execution = ExecutionFactory(workflow=workflow, run=True)
    assert execution.status == ExecutionStatus.FAILED
    task_run = execution.task_runs.get()

    raised = [line for line in json_lines() if "raised" in line["message"]]
    assert len(raised) == 1
    assert raised[0]["execution_id"] == str(execution.id)
    assert raised[0]["task_run_id"] == str(task_run.id)
    assert "RuntimeError: flaky failure 1" in raised[0]["exception"]
    end = [line for line in json_lines() if line.get("status") == "failed"]
    assert len(end) == 1 and end[0]["message"].endswith("shaky: RuntimeError: flaky failure 1")


def test_a_line_logged_while_answering_a_request_carries_its_request_id_route_and_execution(json_lines):
    execution_id = uuid.uuid4()
    path = f"/api/v1/executions/{execution_id}/"
    request = RequestFactory().get(path, HTTP_X_REQUEST_ID="req-42")
    match = resolve(path)

    def view(request):
        request.resolver_match = match
        middleware.process_view(request, match.func, match.args, match.kwargs)
        logging.getLogger("flowgate.test").info("answering")
        return None

    middleware = RequestContextMiddleware(view)
    middleware(request)
    logging.getLogger("flowgate.test").info("after the request")

    during, after = json_lines()
    assert (during["request_id"], during["route"], during["execution_id"]) == (
        "req-42", "/api/v1/executions/<pk>/", str(execution_id))
    assert not {"request_id", "route", "execution_id"} & set(after)


def test_a_request_without_a_usable_request_id_gets_one(json_lines):
    def view(request):
        logging.getLogger("flowgate.test").info("answering")

    RequestContextMiddleware(view)(RequestFactory().get("/healthz", HTTP_X_REQUEST_ID="bad id with spaces"))
    (line,) = json_lines()
    assert len(line["request_id"]) == 32 and line["request_id"] != "bad id with spaces"


def test_contexts_nest_and_unwind(json_lines):
    log = logging.getLogger("flowgate.test")
    with log_context(execution_id="e1"):
        with log_context(task_run_id="t1"):
            log.info("inner")
        log.info("outer", extra={"task_run_id": "given"})
    lines = json_lines()
    assert (lines[0]["execution_id"], lines[0]["task_run_id"]) == ("e1", "t1")
    # A value the call passed wins over the context's.
    assert (lines[1]["execution_id"], lines[1]["task_run_id"]) == ("e1", "given")


@pytest.mark.e2e
@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_worker_logs_each_execution_once_at_info_and_a_killed_one_is_still_run_to_its_end(start_worker,
                                                                                           project_a):
    """The documented worker command logs starts and ends; SIGKILL mid-task loses nothing (the sweeper recovers)."""
    lease = {"FLOWGATE_TASK_LEASE_SECONDS": 3}
    doomed = start_worker(concurrency=1, **lease)
    workflow = WorkflowFactory(project=project_a, name="crash probe", tasks=[
        {"name": "long", "type": "sleep", "config": {"seconds": 8}},
        {"name": "after", "type": "response", "config": {"value": "recovered"}, "depends_on": ["long"]},
    ])
    execution = ExecutionFactory(workflow=workflow)
    wait_until(lambda: TaskRun.objects.filter(execution=execution, name="long", status="running").exists())
    doomed.kill()
    survivor = start_worker(concurrency=1, **lease)

    def recovered():
        sweep()
        execution.refresh_from_db()
        return execution.is_terminal

    wait_until(recovered, timeout=60, interval=0.5)
    assert (execution.status, execution.return_value) == ("succeeded", "recovered")
    assert TaskRun.objects.get(execution=execution, name="long").attempts == 2

    started = f"execution {execution.id} of workflow 'crash probe' started (attempt 1)"
    ended = f"execution {execution.id} of workflow 'crash probe' succeeded in "
    assert started in doomed.log_path.read_text()
    survivor_log = wait_until(lambda: (text := survivor.log_path.read_text()).count(ended) == 1 and text)
    assert " INFO flowgate.engine " + ended in survivor_log
    assert started not in survivor_log  # the execution started once; the survivor ran its task again
