"""Project-bound keys reach only their project; ids that must be unique are unique per tenant, or per workflow."""

import pytest

from accounts.models import Role
from executions.models import Execution
from records import actions as action_services
from tests.accounts.factories import ProjectFactory
from tests.conftest import key_client
from tests.records.factories import ActionFactory
from tests.workflows.factories import WorkflowFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_projects(tenant_a, project_a):
    other = ProjectFactory(tenant=tenant_a, name="Other")
    return key_client(tenant_a, "admin", project=project_a), key_client(tenant_a, "admin", project=other)


def test_flow_runs_of_another_project_are_invisible_to_a_project_bound_key(two_projects):
    mine, theirs = two_projects
    assert mine.post("/api/v1/flow-runs", {"id": "run-1", "flowId": "f"}, format="json").status_code == 201
    assert theirs.get("/api/v1/flow-runs/run-1").status_code == 404
    assert theirs.get("/api/v1/flow-runs").json()["total"] == 0
    assert theirs.delete("/api/v1/flow-runs/run-1").status_code == 404
    # The id is the tenant's: the other project cannot take it over with an upsert.
    replaced = theirs.put("/api/v1/flow-runs/run-1", {"flowId": "g", "flowType": "automation"}, format="json")
    assert replaced.status_code == 409
    assert mine.get("/api/v1/flow-runs/run-1").json()["flowId"] == "f"


def test_a_tenant_wide_key_sees_every_projects_flow_runs(two_projects, tenant_a):
    mine, _ = two_projects
    mine.post("/api/v1/flow-runs", {"id": "run-2", "flowId": "f"}, format="json")
    assert key_client(tenant_a, "admin").get("/api/v1/flow-runs/run-2").status_code == 200


def test_action_short_ids_are_unique_per_tenant_only(project_a, project_b):
    ActionFactory(project=project_a, name="Approve", short_id="edHR10")
    # Another tenant may use the same short id: nothing reveals that tenant A has it.
    other = action_services.create_action(project=project_b, name="Approve", short_id="edHR10")
    assert other.short_id == "edHR10"
    with pytest.raises(Exception, match="taken"):
        action_services.create_action(project=project_a, name="Again", short_id="edHR10")


def test_an_idempotency_key_replays_only_the_same_workflow(tenant_a, project_a):
    """Two projects with the same alias: the second project's key must not get the first one's execution."""
    other = ProjectFactory(tenant=tenant_a, name="Other")
    WorkflowFactory(project=project_a, tasks=[], alias="deploy")
    WorkflowFactory(project=other, tasks=[], alias="deploy")
    first = key_client(tenant_a, Role.WORKFLOW, project=project_a)
    second = key_client(tenant_a, Role.WORKFLOW, project=other)
    assert first.post("/api/v1/executions/", {"workflow": "deploy"}, format="json",
                      HTTP_IDEMPOTENCY_KEY="abc").status_code == 201
    response = second.post("/api/v1/executions/", {"workflow": "deploy"}, format="json", HTTP_IDEMPOTENCY_KEY="abc")
    assert response.status_code == 422
    assert Execution.objects.count() == 1
