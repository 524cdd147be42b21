"""Native workflow CRUD, versions, look-up by alias, validation and filters."""

import pytest
from django.core.management import call_command

from tests.accounts.factories import ProjectFactory
from tests.workflows.factories import WorkflowFactory
from workflows.models import Workflow

pytestmark = pytest.mark.django_db

LOG = {"tasks": [{"name": "hello", "type": "log", "config": {"message": "hi"}}]}


def test_it_creates_a_workflow_with_version_1(admin_api, project_a):
    response = admin_api.post("/api/v1/workflows/", {"name": "Hello", "alias": "hello", "definition": LOG,
                                                     "tags": {"team": "ops"}}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["version"] == 1 and body["alias"] == "hello" and str(project_a.id) == body["project"]
    assert body["current_definition"]["tasks"][0]["name"] == "hello"


def test_it_answers_400_with_every_problem(admin_api, project_a):
    response = admin_api.post("/api/v1/workflows/", {"name": "Bad", "definition": {"tasks": [
        {"name": "a", "type": "nope"},
        {"name": "b", "type": "log", "config": {}, "depends_on": ["zzz"]},
    ]}}, format="json")
    assert response.status_code == 400
    body = response.json()
    fields = {e["field"] for e in body["errors"]}
    assert {"definition.tasks[0].type", "definition.tasks[1].config.message", "definition.tasks[1].depends_on"} <= fields
    assert all("task '" in e["message"] for e in body["errors"])
    assert body["detail"].startswith("Invalid request")


def test_a_changed_definition_makes_a_new_version_and_old_ones_stay(admin_api, project_a):
    wf = WorkflowFactory(project=project_a, tasks=LOG["tasks"], alias="v")
    new = {"tasks": [{"name": "hello", "type": "log", "config": {"message": "changed"}}]}
    assert admin_api.patch(f"/api/v1/workflows/{wf.id}/", {"definition": new}, format="json").json()["version"] == 2
    assert admin_api.patch(f"/api/v1/workflows/{wf.id}/", {"definition": new}, format="json").json()["version"] == 2
    versions = admin_api.get(f"/api/v1/workflows/{wf.id}/versions/").json()
    assert [v["number"] for v in versions["items"]] == [2, 1]
    first = admin_api.get(f"/api/v1/workflows/{wf.id}/versions/1/").json()
    assert first["definition"]["tasks"][0]["config"]["message"] == "hi"


def test_it_looks_workflows_up_by_alias(admin_api, project_a):
    wf = WorkflowFactory(project=project_a, tasks=LOG["tasks"], alias="by-alias")
    assert admin_api.get("/api/v1/workflows/by-alias/").json()["id"] == str(wf.id)
    assert admin_api.get("/api/v1/workflows/no-such-alias/").status_code == 404


def test_it_refuses_a_duplicate_alias_in_a_project(admin_api, project_a):
    WorkflowFactory(project=project_a, tasks=LOG["tasks"], alias="dup")
    response = admin_api.post("/api/v1/workflows/", {"name": "Again", "alias": "dup", "definition": LOG}, format="json")
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "alias"


def test_a_workflow_cannot_move_to_another_project(admin_api, tenant_a, project_a):
    other = ProjectFactory(tenant=tenant_a, name="Other")
    WorkflowFactory(project=other, tasks=LOG["tasks"], alias="dup")
    wf = WorkflowFactory(project=project_a, tasks=LOG["tasks"], alias="mine")
    response = admin_api.patch(f"/api/v1/workflows/{wf.id}/", {"project": str(other.id), "alias": "dup"}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0] == {
        "field": "project", "message": "A workflow cannot move to another project; create a new one there."}
    wf.refresh_from_db()
    assert (wf.project_id, wf.alias) == (project_a.id, "mine")


def test_a_new_workflow_in_a_tenant_with_several_projects_must_name_one(admin_api, tenant_a, project_a):
    ProjectFactory(tenant=tenant_a, name="Other")
    response = admin_api.post("/api/v1/workflows/", {"name": "x", "definition": LOG}, format="json")
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "project"
    named = admin_api.post("/api/v1/workflows/", {"name": "x", "project": str(project_a.id), "definition": LOG},
                           format="json")
    assert named.status_code == 201 and named.json()["project"] == str(project_a.id)


def test_there_is_no_version_0(admin_api, project_a):
    wf = WorkflowFactory(project=project_a, tasks=LOG["tasks"])
    assert admin_api.get(f"/api/v1/workflows/{wf.id}/versions/0/").status_code == 404
    assert admin_api.get(f"/api/v1/workflows/{wf.id}/versions/1/").status_code == 200


def test_another_tenant_cannot_see_or_change_a_workflow(outsider_api, project_a):
    wf = WorkflowFactory(project=project_a, tasks=LOG["tasks"], alias="secret")
    assert outsider_api.get(f"/api/v1/workflows/{wf.id}/").status_code == 404
    assert outsider_api.get("/api/v1/workflows/secret/").status_code == 404
    assert outsider_api.patch(f"/api/v1/workflows/{wf.id}/", {"name": "x"}, format="json").status_code == 404
    assert outsider_api.get("/api/v1/workflows/").json()["total"] == 0


def test_a_viewer_reads_but_cannot_write(viewer_api, project_a):
    WorkflowFactory(project=project_a, tasks=LOG["tasks"])
    assert viewer_api.get("/api/v1/workflows/").status_code == 200
    response = viewer_api.post("/api/v1/workflows/", {"name": "x", "definition": LOG}, format="json")
    assert response.status_code == 403 and "viewer" in response.json()["detail"]


def test_it_filters_by_name_alias_tag_and_enabled(admin_api, project_a):
    WorkflowFactory(project=project_a, tasks=LOG["tasks"], name="Billing sync", alias="billing",
                    tags={"team": "money"})
    WorkflowFactory(project=project_a, tasks=LOG["tasks"], name="Ops ping", tags={"team": "ops"},
                    enabled=False)
    names = lambda q: [w["name"] for w in admin_api.get(f"/api/v1/workflows/?{q}").json()["items"]]  # noqa: E731
    assert names("name=billing") == ["Billing sync"]
    assert names("alias=billing") == ["Billing sync"]
    assert names("tag=team:ops") == ["Ops ping"]
    assert names("enabled=false") == ["Ops ping"]
    assert admin_api.get("/api/v1/workflows/?tag=nocolon").status_code == 400


def test_it_reads_the_enabled_filter_as_true_false_words_and_refuses_others(admin_api, project_a):
    WorkflowFactory(project=project_a, tasks=LOG["tasks"], name="Ops ping", enabled=False)
    names = lambda q: [w["name"] for w in admin_api.get(f"/api/v1/workflows/?{q}").json()["items"]]  # noqa: E731
    assert names("enabled=No") == names("enabled=0") == ["Ops ping"]
    assert names("enabled=yes") == []
    response = admin_api.get("/api/v1/workflows/?enabled=maybe")
    assert response.status_code == 400
    assert response.json()["errors"] == [{"field": "enabled", "message": "Use true or false."}]


@pytest.mark.parametrize("count", [3, 30])
def test_the_list_costs_the_same_queries_whatever_its_size(admin_api, project_a, count, django_assert_max_num_queries):
    for i in range(count):
        WorkflowFactory(project=project_a, tasks=LOG["tasks"], name=f"w{i}")
    # key look-up, key last_used_at (first use), COUNT, page with the project joined
    with django_assert_max_num_queries(4):
        response = admin_api.get("/api/v1/workflows/?limit=50")
    assert response.json()["total"] == count


def test_loadworkflows_is_idempotent(tenant_a, project_a, tmp_path):
    (tmp_path / "a.yaml").write_text("name: A\nalias: a\ndefinition:\n  tasks:\n    - {name: x, type: log, config: {message: hi}}\n")
    call_command("loadworkflows", str(tmp_path), "--tenant", "acme")
    call_command("loadworkflows", str(tmp_path), "--tenant", "acme")
    workflow = Workflow.objects.get(alias="a")
    assert workflow.current_version == 1 and workflow.versions.count() == 1
    (tmp_path / "a.yaml").write_text("name: A\nalias: a\ndefinition:\n  tasks:\n    - {name: x, type: log, config: {message: bye}}\n")
    call_command("loadworkflows", str(tmp_path), "--tenant", "acme")
    assert Workflow.objects.get(alias="a").current_version == 2


def test_the_shipped_examples_are_valid(tenant_a, project_a):
    call_command("loadworkflows", "examples/workflows", "--tenant", "acme")
    assert set(Workflow.objects.values_list("alias", flat=True)) >= {
        "expense-approval", "health-check", "parallel-report", "batch-greetings"}
