"""The native actions endpoints: create, list, look up by UUID or short id, change, delete."""

from __future__ import annotations

import pytest

from accounts.models import Role
from records import actions
from records.models import Action
from tests.accounts.factories import ProjectFactory
from tests.conftest import key_client
from tests.records.factories import HONORABLE, ActionFactory, BoardFactory
from tests.workflows.factories import WorkflowFactory

pytestmark = pytest.mark.django_db

ACTIONS = "/api/v1/actions/"


@pytest.fixture
def board(project_a):
    return BoardFactory(project=project_a)


def test_it_creates_an_action_for_a_workflows_tasks(board, workflow_api, walter):
    response = workflow_api.post(ACTIONS, {
        "workflow": "abc123", "name": "Waitlist", "short_id": "Wait01", "stages": ["New", "Rejected"],
        "target_stage": "New", "allowed_roles": ["approver"], "allowed_users": ["walter@example.com"],
        "requirements": {"required_fields": ["Email"], "conditions": [HONORABLE]},
        "steps": {"tasks": [{"name": "tag", "type": "update_record", "config": {"fields": {"House": "Ravenclaw"}}}]},
    }, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["short_id"], body["workflow"], body["project"]) == (
        "Wait01", str(board.workflow.id), str(board.workflow.project_id))
    assert (body["stages"], body["target_stage"], body["allowed_users"]) == (
        ["New", "Rejected"], "New", ["walter@example.com"])
    assert body["requirements"] == {"required_fields": ["Email"], "conditions": [HONORABLE]}
    assert body["steps"]["tasks"][0]["retries"] == 0  # stored normalized
    assert body["enabled"] is True


def test_it_lists_every_problem_of_a_new_action(board, workflow_api):
    response = workflow_api.post(ACTIONS, {
        "workflow": "abc123", "name": "Broken", "stages": ["Limbo"],
        "requirements": {"conditions": [{"expression": "record.fields.Name.startswith(", "message": "x"}]},
        "steps": {"tasks": [{"name": "a", "type": "log"}]},
    }, format="json")
    assert response.status_code == 400
    fields = {e["field"] for e in response.json()["errors"]}
    assert fields == {"stages", "requirements.conditions[0]", "steps.tasks[0].config.message"}
    assert workflow_api.post(ACTIONS, {"workflow": "nope", "name": "x"}, format="json").status_code == 400
    assert workflow_api.post(ACTIONS, {"description": "no name"}, format="json").status_code == 400
    assert Action.objects.count() == 2


def problems_of(response) -> dict[str, list[str]]:
    assert response.status_code == 400, response.json()
    found: dict[str, list[str]] = {}
    for error in response.json()["errors"]:
        found.setdefault(error["field"], []).append(error["message"])
    return found


def test_it_answers_every_problem_of_the_body_in_the_services_words(board, workflow_api):
    response = workflow_api.post(ACTIONS, {
        "workflow": "abc123", "description": 5, "enabled": "maybe", "stages": "New",
        "requirements": {"checklist_complete": "yes", "must_be_assigned": "no"},
    }, format="json")
    assert problems_of(response) == {
        "name": ["An action needs a name."],
        "description": ["Must be text."],
        "enabled": ["Must be true or false."],
        "stages": ['Must be a list of stage names, like ["New"]; an empty list offers it in every stage.'],
        "requirements.checklist_complete": ["Must be true or false."],
        "requirements.must_be_assigned": ["Must be true or false."],
    }
    long_name = workflow_api.post(ACTIONS, {"name": "x" * 201}, format="json")
    assert problems_of(long_name) == {"name": ["Use at most 200 characters (this name has 201)."]}
    assert Action.objects.count() == 2


def test_it_reads_true_false_words_for_the_action_flags(board, workflow_api):
    response = workflow_api.patch(f"{ACTIONS}edHR10", {"enabled": "no", "report_to_flow_runs": "Yes"}, format="json")
    assert response.status_code == 200, response.json()
    assert (response.json()["enabled"], response.json()["report_to_flow_runs"]) == (False, True)


def test_it_creates_a_project_action_in_the_callers_only_project(project_a, admin_api):
    response = admin_api.post(ACTIONS, {"name": "Nightly", "description": "Rebuild the report",
                                        "steps": {"tasks": [{"name": "a", "type": "log", "config": {"message": "x"}}]}},
                              format="json")
    assert response.status_code == 201
    assert (response.json()["project"], response.json()["workflow"]) == (str(project_a.id), None)


def test_it_looks_actions_up_by_uuid_or_short_id(board, viewer_api, outsider_api):
    for key in ("edHR10", str(board.approve.id)):
        response = viewer_api.get(f"{ACTIONS}{key}")
        assert response.status_code == 200
        assert response.json()["name"] == "Approve"
    assert viewer_api.get(f"{ACTIONS}nothing").status_code == 404
    assert outsider_api.get(f"{ACTIONS}edHR10").status_code == 404
    assert outsider_api.get(f"{ACTIONS}{board.approve.id}").status_code == 404


def test_it_lists_and_filters_actions(board, project_a, workflow_api, django_assert_max_num_queries):
    ActionFactory(project=project_a, name="Nightly", enabled=False)
    # Queries: the API key, its last-used stamp, COUNT, the page (with target stage), stages, allowed users.
    with django_assert_max_num_queries(6):
        response = workflow_api.get(ACTIONS)
    assert response.status_code == 200
    assert [a["name"] for a in response.json()["items"]] == ["Nightly", "Reject", "Approve"]
    assert [a["name"] for a in workflow_api.get(f"{ACTIONS}?workflow=abc123").json()["items"]] == ["Reject", "Approve"]
    assert [a["name"] for a in workflow_api.get(f"{ACTIONS}?enabled=false").json()["items"]] == ["Nightly"]
    assert [a["name"] for a in workflow_api.get(f"{ACTIONS}?name=app").json()["items"]] == ["Approve"]
    assert workflow_api.get(f"{ACTIONS}?project={project_a.id}").json()["total"] == 3
    assert workflow_api.get(f"{ACTIONS}?project=nope").status_code == 400


def test_a_project_bound_key_sees_only_its_projects_actions(board, tenant_a):
    side = ProjectFactory(tenant=tenant_a, name="Side")
    ActionFactory(project=side, name="Side job")
    client = key_client(tenant_a, Role.WORKFLOW, project=side)
    assert [a["name"] for a in client.get(ACTIONS).json()["items"]] == ["Side job"]
    assert client.get(f"{ACTIONS}edHR10").status_code == 404


def test_it_changes_an_action(board, workflow_api):
    response = workflow_api.patch(f"{ACTIONS}edHR10", {"enabled": False, "stages": ["New", "Approved"],
                                                       "requirements": {}}, format="json")
    assert response.status_code == 200
    assert (response.json()["enabled"], response.json()["stages"], response.json()["requirements"]) == (
        False, ["New", "Approved"], {})
    response = workflow_api.patch(f"{ACTIONS}edHR10", {"short_id": "PvHaOO"}, format="json")
    assert response.status_code == 400
    response = workflow_api.patch(f"{ACTIONS}edHR10", {"project": str(board.workflow.project_id)}, format="json")
    assert response.status_code == 400


def test_only_admins_delete_and_viewers_only_read(board, workflow_api, viewer_api, admin_api):
    assert viewer_api.post(ACTIONS, {"name": "x"}, format="json").status_code == 403
    assert viewer_api.patch(f"{ACTIONS}edHR10", {"enabled": False}, format="json").status_code == 403
    assert workflow_api.delete(f"{ACTIONS}edHR10").status_code == 403
    assert admin_api.delete(f"{ACTIONS}edHR10").status_code == 204
    assert not Action.objects.filter(short_id="edHR10").exists()


def test_the_action_paths_do_not_shadow_the_workflow_api(board, project_a, workflow_api):
    WorkflowFactory(project=project_a, alias="actions")
    assert workflow_api.get("/api/v1/workflows/actions/").json()["alias"] == "actions"


def test_a_requirement_condition_with_a_huge_power_is_refused_saying_why(project_a, admin_api):
    """Conditions are compiled when saved and run in the web process: a huge constant power is refused, not computed."""
    response = admin_api.post("/api/v1/actions/", {
        "name": "Slow", "steps": {"tasks": [{"name": "a", "type": "log", "config": {"message": "m"}}]},
        "requirements": {"conditions": [{"expression": "2 ** 100000 > 1", "message": "Too big"}]},
    }, format="json")
    assert response.status_code == 201, response.content
    action = Action.objects.get(pk=response.json()["id"])
    [message] = actions.check_requirements(action, None)
    assert message.startswith("Condition '2 ** 100000 > 1' could not be evaluated: not allowed: a power")
