"""GET /metrics: Prometheus text, behind a token or a list of networks, counting across processes."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import pytest
from prometheus_client.parser import text_string_to_metric_families

from approvals.models import Approval, ApprovalStatus
from executions.models import Execution, ExecutionStatus
from tests.approvals.factories import ApprovalFactory
from tests.conftest import ROOT
from tests.support.clients import Client
from tests.workflows.factories import WorkflowFactory

pytestmark = pytest.mark.django_db

TOKEN = "metrics-token-0123456789"


def scrape(client: Client | None = None, **headers) -> dict[tuple[str, frozenset], float]:
    """The scraped samples as {(name, labels): value}, read with prometheus_client's own parser."""
    response = (client or Client()).get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}", **headers)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=")
    return {(sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(response.content.decode())
            for sample in family.samples}


def value(samples, name: str, **labels) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


@pytest.fixture
def token(settings):
    settings.FLOWGATE_METRICS_TOKEN = TOKEN
    settings.FLOWGATE_METRICS_ALLOWED_NETWORKS = []
    return TOKEN


def test_it_does_not_exist_until_a_token_or_network_is_configured(settings):
    settings.FLOWGATE_METRICS_TOKEN = ""
    settings.FLOWGATE_METRICS_ALLOWED_NETWORKS = []
    assert Client().get("/metrics").status_code == 404
    assert Client().get("/metrics", HTTP_AUTHORIZATION="Bearer anything").status_code == 404


@pytest.mark.parametrize("header", [None, "Bearer wrong-token", f"Basic {TOKEN}", "Bearer "])
def test_it_refuses_a_missing_or_wrong_token(token, header):
    extra = {"HTTP_AUTHORIZATION": header} if header is not None else {}
    response = Client().get("/metrics", **extra)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="metrics"'
    assert "FLOWGATE_METRICS_TOKEN" in response.json()["detail"]
    assert b"flowgate_" not in response.content


def test_it_answers_an_allowed_network_without_a_token(settings):
    settings.FLOWGATE_METRICS_TOKEN = ""
    settings.FLOWGATE_METRICS_ALLOWED_NETWORKS = ["127.0.0.0/8", "10.1.0.0/16"]
    assert Client().get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 200
    assert Client().get("/metrics", REMOTE_ADDR="10.1.200.3").status_code == 200
    # Outside the networks, with no token configured, there is nothing to sign in to.
    assert Client().get("/metrics", REMOTE_ADDR="203.0.113.9").status_code == 404


def test_it_counts_an_execution_run_through_the_api(token, admin_api, project_a, django_capture_on_commit_callbacks):
    workflow = WorkflowFactory(project=project_a, name="metrics-probe", tasks=[
        {"name": "greet", "type": "set", "config": {"values": {"text": "hi"}}},
        {"name": "boom", "type": "fail", "config": {"message": "no"}, "depends_on": ["greet"]},
    ])
    before = scrape()

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_api.post("/api/v1/executions/", {"workflow": str(workflow.id)}, format="json")
    assert response.status_code == 201, response.content
    assert Execution.objects.get(pk=response.json()["id"]).status == ExecutionStatus.FAILED

    after = scrape()
    delta = {key: after.get(key, 0.0) - before.get(key, 0.0) for key in after}
    assert value(delta, "flowgate_executions_started_total", workflow="metrics-probe") == 1
    assert value(delta, "flowgate_executions_finished_total", workflow="metrics-probe", status="failed") == 1
    assert value(delta, "flowgate_executions_finished_total", workflow="metrics-probe", status="succeeded") == 0
    # Series shared with other tests, which may run at the same time in other processes (pytest-xdist)
    # and count into the same files: at least this test's own.
    assert value(delta, "flowgate_task_duration_seconds_count", task_type="set", outcome="succeeded") >= 1
    assert value(delta, "flowgate_task_duration_seconds_count", task_type="fail", outcome="failed") >= 1
    # Requests are timed by their URL route, never by the raw path (an id would make a series per execution).
    assert value(delta, "flowgate_http_request_duration_seconds_count",
                 method="POST", route="/api/v1/executions/", status="201") >= 1
    assert not any(name.startswith("flowgate_http") and str(workflow.id) in str(labels) for name, labels in after)


def test_it_reads_the_live_states_when_scraped(token, project_a, tenant_a):
    ApprovalFactory(project=project_a)
    queued = WorkflowFactory(project=project_a, tasks=[{"name": "note", "type": "log", "config": {"message": "x"}}])
    Execution.objects.create(tenant=tenant_a, project=project_a, workflow=queued)

    samples = scrape()
    assert value(samples, "flowgate_approvals_pending") == Approval.objects.filter(
        status=ApprovalStatus.PENDING).count() == 1
    for status in ("queued", "running", "waiting"):
        assert value(samples, "flowgate_executions", status=status) == Execution.objects.filter(status=status).count()
    assert value(samples, "flowgate_executions", status="waiting") == 1
    assert value(samples, "flowgate_executions", status="queued") == 1
    depth = [v for (name, labels), v in samples.items() if name == "flowgate_queue_depth"]
    assert len(depth) == 1 and depth[0] >= 0
    sources = {dict(labels)["source"]: v for (name, labels), v in samples.items() if name == "flowgate_metrics_source_up"}
    assert sources and all(v == 1 for v in sources.values()), sources


def test_a_source_that_fails_is_reported_down_without_failing_the_scrape(token, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    samples = scrape()
    sources = {dict(labels)["source"]: v for (name, labels), v in samples.items() if name == "flowgate_metrics_source_up"}
    assert sources["_broker_gauges"] == 0
    assert not any(name == "flowgate_queue_depth" for name, _ in samples)
    assert value(samples, "flowgate_approvals_pending") == 0


def test_counts_of_other_processes_are_added_up(token):
    """A worker or beat is another process: what it counts reaches the web process's /metrics."""
    kind = f"probe-{uuid.uuid4().hex[:8]}"  # a series of this test's own
    assert value(scrape(), "flowgate_sweeper_recoveries_total", kind=kind) == 0
    probe = ("import django; django.setup(); "
             f"from config.metrics import SWEEPER_RECOVERIES; SWEEPER_RECOVERIES.labels({kind!r}).inc(3)")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DJANGO_SETTINGS_MODULE": "config.settings"}
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr[-2000:]
    assert value(scrape(), "flowgate_sweeper_recoveries_total", kind=kind) == 3
