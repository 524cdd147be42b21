"""Each documented surface end to end through a real Celery worker on Redis and PostgreSQL."""

import pytest

from tests.conftest import key_client, wait_until
from tests.records.factories import ActionFactory
from tests.workflows.factories import WorkflowFactory

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

STEPS = [
    {"name": "left", "type": "set", "config": {"values": {"v": "{{ input.n | default(1) }}"}}},
    {"name": "right", "type": "log", "config": {"message": "side branch"}},
    {"name": "answer", "type": "response", "config": {"value": {"v": "{{ tasks.left.output.v }}"}},
     "depends_on": ["left", "right"]},
]


def test_mindzie_execute_then_progress_reaches_completed(live_worker, tenant_a, project_a):
    action = ActionFactory(project=project_a, name="Refresh", steps={"tasks": STEPS})
    client = key_client(tenant_a, "workflow")
    base = f"/api/{tenant_a.id}/{project_a.id}/action"
    queued = client.get(f"{base}/execute/{action.id}")
    assert queued.status_code == 200 and queued.json()["status"] == "Queued"
    execution_id = queued.json()["actionExecutionId"]
    done = wait_until(lambda: (r := client.get(f"{base}/execution/{execution_id}").json())["status"] == "Completed" and r)
    assert done["dateEnded"] is not None and done["notes"] is None


def test_flowsynx_execute_then_details_and_tasks_complete(live_worker, tenant_a, project_a):
    workflow = WorkflowFactory(project=project_a, tasks=STEPS, name="synx")
    client = key_client(tenant_a, "workflow")
    started = client.post(f"/workflows/{workflow.id}/executions", {"workflowId": str(workflow.id)}, format="json")
    assert started.status_code == 200 and started.json()["succeeded"] is True
    execution_id = started.json()["data"]["executionId"]
    path = f"/workflows/{workflow.id}/executions/{execution_id}"
    wait_until(lambda: client.get(path).json()["data"]["status"] == "Completed")
    tasks = client.get(f"{path}/tasks").json()["data"]
    assert sorted((t["name"], t["status"]) for t in tasks) == [
        ("answer", "Completed"), ("left", "Completed"), ("right", "Completed")]
    logs = client.get(f"{path}/logs").json()["data"]
    assert any(line["message"] == "side branch" and line["level"] == "Info" for line in logs)


def test_port_flow_run_follows_an_execution_run_by_the_worker(live_worker, tenant_a, project_a):
    WorkflowFactory(project=project_a, tasks=STEPS, alias="mirrored")
    client = key_client(tenant_a, "workflow")
    started = client.post("/api/v1/executions/", {"workflow": "mirrored", "flow_run": "nightly.1"}, format="json")
    assert started.status_code == 201
    run = wait_until(lambda: (r := client.get("/api/v1/flow-runs/nightly.1").json())["phase"] == "success" and r)
    assert sorted(action["id"] for action in run["actions"]) == ["answer", "left", "right"]
    assert all(action["phase"] == "success" for action in run["actions"])
    assert run["outputs"] == {"v": 1}
    assert any(line["message"] == "side branch" for line in run["logs"])


def test_flowdash_workflow_start_then_status_reads_success(live_worker, tenant_a, project_a):
    workflow = WorkflowFactory(project=project_a, tasks=STEPS, alias="fd")
    client = key_client(tenant_a, "workflow")
    started = client.post(f"/api/v1/workflows/{workflow.id}/executions", {"input": {"n": 2}}, format="json")
    assert started.status_code == 201 and started.json()["status"] == "Pending"
    path = f"/api/v1/workflows/{workflow.id}/executions/{started.json()['id']}"
    wait_until(lambda: client.get(path).json()["status"] == "Success")
    assert client.get(path).json() == {"id": started.json()["id"], "status": "Success"}
