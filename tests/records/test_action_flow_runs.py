"""An action configured to report to flow runs mirrors each of its executions into a Port flow run."""

import pytest

from flowruns.models import FlowRun
from records import actions as action_services
from tests.records.factories import BoardFactory

pytestmark = pytest.mark.django_db


def test_a_reporting_action_keeps_a_flow_run_in_step(project_a, admin_api,
                                                     django_capture_on_commit_callbacks):
    board = BoardFactory(project=project_a)
    action_services.update_action(board.approve, report_to_flow_runs=True)
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_api.post(f"/api/v1/workflows/{board.workflow.id}/executions",
                                  {"task_id": "678", "action_id": "edHR10"}, format="json")
    assert response.status_code == 201, response.json()
    run = FlowRun.objects.get()
    assert run.run_id.startswith("edhr10-") and run.flow_id == "edhr10"
    port = admin_api.get(f"/api/v1/flow-runs/{run.run_id}").json()
    assert port["flowType"] == "selfServiceAction"
    assert port["phase"] == "success"
    assert [a["id"] for a in port["actions"]] == ["note"]
    assert any("Approving" in line["message"] for line in port["logs"])


def test_an_action_that_does_not_report_makes_no_flow_run(project_a, admin_api,
                                                          django_capture_on_commit_callbacks):
    board = BoardFactory(project=project_a)
    with django_capture_on_commit_callbacks(execute=True):
        admin_api.post(f"/api/v1/workflows/{board.workflow.id}/executions",
                       {"task_id": "678", "action_id": "edHR10"}, format="json")
    assert FlowRun.objects.count() == 0
