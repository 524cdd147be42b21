"""The native records (tasks), history, stages and fields endpoints."""

from __future__ import annotations

import pytest

from records.api import urls as records_urls
from tests.records.factories import BoardFactory, FieldFactory, RecordFactory, StageFactory
from tests.support.openapi import generate_document
from tests.workflows.factories import WorkflowFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def board(project_a):
    return BoardFactory(project=project_a)


TASKS = "/api/v1/workflows/abc123/tasks/"


# -- tasks ------------------------------------------------------------------------------------------------
def test_it_creates_a_task_with_the_next_number(board, workflow_api):
    response = workflow_api.post(TASKS, {"fields": {"Name": "Hon. Hermione Granger", "House": "Gryffindor"},
                                         "checklist": ["Letter sent"], "assignee": "harry"}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert (body["unique_id"], body["stage"], body["assignee"]) == (679, "New", "harry@hogwarts.edu")
    assert body["fields"] == {"Name": "Hon. Hermione Granger", "House": "Gryffindor"}
    assert body["checklist"] == [{"name": "Letter sent", "done": False}]
    assert body["created_by"] is None  # an API key is not a person


def test_it_answers_every_problem_in_the_native_error_shape(board, workflow_api):
    response = workflow_api.post(TASKS, {"fields": {"Email": "foo", "Age": 11}, "stage": "Limbo"}, format="json")
    assert response.status_code == 400
    errors = {e["field"]: e["message"] for e in response.json()["errors"]}
    assert errors == {
        "fields.Email": "foo is not a valid email",
        "fields.Age": "Unknown field 'Age'; this workflow's fields are: Name, Email, House.",
        "stage": "Stage 'Limbo' does not exist in workflow 'Admissions' (stages: New, Approved, Rejected).",
    }


def test_it_gets_a_task_by_workflow_alias_or_id(board, viewer_api):
    for path in ("/api/v1/workflows/abc123/tasks/678", f"/api/v1/workflows/{board.workflow.id}/tasks/678/"):
        response = viewer_api.get(path)
        assert response.status_code == 200, path
        assert response.json()["id"] == str(board.record.id)
    assert viewer_api.get("/api/v1/workflows/abc123/tasks/1").status_code == 404
    assert viewer_api.get("/api/v1/workflows/abc123/tasks/x").status_code == 404


def test_another_tenant_sees_nothing(board, outsider_api):
    workflow_id = board.workflow.id
    for path in (f"/api/v1/workflows/{workflow_id}/tasks/", f"/api/v1/workflows/{workflow_id}/tasks/678",
                 f"/api/v1/workflows/{workflow_id}/tasks/678/history", f"/api/v1/workflows/{workflow_id}/stages/",
                 f"/api/v1/workflows/{workflow_id}/fields/"):
        response = outsider_api.get(path)
        assert response.status_code == 404, path
        assert response.json()["detail"] == "Workflow not found."


def test_it_changes_a_task(board, workflow_api):
    response = workflow_api.patch("/api/v1/workflows/abc123/tasks/678", {
        "fields": {"House": "Gryffindor", "Email": None}, "stage": "Approved", "assignee": None}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert body["fields"] == {"Name": "Hon. Harry Potter", "Email": None, "House": "Gryffindor"}
    assert (body["stage"], body["assignee"]) == ("Approved", None)
    response = workflow_api.patch("/api/v1/workflows/abc123/tasks/678", {"unique_id": 1}, format="json")
    assert response.status_code == 400


def test_viewers_read_but_do_not_write(board, viewer_api):
    assert viewer_api.get(TASKS).status_code == 200
    assert viewer_api.post(TASKS, {}, format="json").status_code == 403
    assert viewer_api.patch("/api/v1/workflows/abc123/tasks/678", {}, format="json").status_code == 403
    assert viewer_api.delete("/api/v1/workflows/abc123/tasks/678").status_code == 403


def test_it_deletes_a_task(board, workflow_api):
    response = workflow_api.delete("/api/v1/workflows/abc123/tasks/678")
    assert response.status_code == 204
    assert workflow_api.get("/api/v1/workflows/abc123/tasks/678").status_code == 404


def test_it_lists_and_filters_tasks(board, workflow_api, walter, django_assert_max_num_queries):
    RecordFactory(workflow=board.workflow, fields={"Name": "Ron", "House": "Gryffindor"}, stage="Approved")
    RecordFactory(workflow=board.workflow, fields={"Name": "Draco", "House": "Slytherin"}, assignee="walter")
    # Queries: the API key, its last-used stamp, the workflow, COUNT, the page (tasks with stage and people).
    with django_assert_max_num_queries(5):
        response = workflow_api.get(TASKS)
    assert response.status_code == 200
    assert [t["unique_id"] for t in response.json()["items"]] == [678, 679, 680]

    def numbers(query: str) -> list[int]:
        reply = workflow_api.get(f"{TASKS}?{query}")
        assert reply.status_code == 200, reply.json()
        return [t["unique_id"] for t in reply.json()["items"]]

    assert numbers("stage=New") == [678, 680]
    assert numbers("assignee=walter@example.com") == [680]
    assert numbers("assignee=harry") == [678]
    assert numbers("assigned=false") == [679]
    assert numbers("field=Name:Ron") == [679]
    assert numbers("field=House:Gryffindor&stage=New") == []
    assert numbers("field=House:Gryffindor") == [679]
    assert numbers("field=Name:Hon.%20Harry%20Potter&field=Email:harry@hogwarts.edu") == [678]
    for bad in ("field=Wand:holly", "field=Name", "assigned=maybe"):
        assert workflow_api.get(f"{TASKS}?{bad}").status_code == 400, bad


def test_it_filters_number_fields_by_value(board, workflow_api):
    FieldFactory(workflow=board.workflow, name="Score", type="number")
    RecordFactory(workflow=board.workflow, fields={"Name": "Ron", "Score": 7})
    RecordFactory(workflow=board.workflow, fields={"Name": "Neville", "Score": 70})
    items = workflow_api.get(f"{TASKS}?field=Score:7").json()["items"]
    assert [t["fields"]["Name"] for t in items] == ["Ron"]


def test_it_pages_tasks_with_cursors(board, workflow_api):
    for index in range(4):
        RecordFactory(workflow=board.workflow, fields={"Name": f"Student {index}"})
    first = workflow_api.get(f"{TASKS}?limit=2").json()
    assert [t["unique_id"] for t in first["items"]] == [678, 679]
    assert first["total"] == 5 and first["previous_page"] is None
    second = workflow_api.get(f"{TASKS}?limit=2&cursor={first['next_page']}").json()
    assert [t["unique_id"] for t in second["items"]] == [680, 681]
    back = workflow_api.get(f"{TASKS}?limit=2&cursor={second['previous_page']}").json()
    assert [t["unique_id"] for t in back["items"]] == [678, 679]


def test_it_shows_a_tasks_history(board, workflow_api, django_assert_max_num_queries):
    workflow_api.patch("/api/v1/workflows/abc123/tasks/678", {"stage": "Approved"}, format="json")
    # Queries: the API key, the workflow, the task, COUNT, the page (with actions).
    with django_assert_max_num_queries(5):
        response = workflow_api.get("/api/v1/workflows/abc123/tasks/678/history")
    assert response.status_code == 200
    events = [(e["kind"], e["detail"]) for e in response.json()["items"]]
    assert events == [("created", {"stage": "New"}), ("moved", {"from": "New", "to": "Approved"})]


# -- stages and fields ----------------------------------------------------------------------------------------
def test_it_manages_stages(project_a, workflow_api, admin_api, django_assert_max_num_queries):
    workflow = WorkflowFactory(project=project_a, alias="pipeline")
    base = "/api/v1/workflows/pipeline/stages/"
    for name in ("Draft", "Live"):
        response = workflow_api.post(base, {"name": name}, format="json")
        assert response.status_code == 201
    assert response.json()["position"] == 1
    # Queries: the API key, its last-used stamp, the workflow, COUNT, the page.
    with django_assert_max_num_queries(5):
        response = workflow_api.get(base)
    assert [s["name"] for s in response.json()["items"]] == ["Draft", "Live"]
    live = workflow.stages.get(name="Live")
    response = workflow_api.patch(f"{base}{live.id}", {"name": "Published", "position": 0}, format="json")
    assert response.json() == {"id": live.id, "name": "Published", "position": 0}
    assert workflow_api.post(base, {"name": "Draft"}, format="json").status_code == 400
    assert workflow_api.delete(f"{base}{live.id}").status_code == 403  # deleting a definition is for admins
    RecordFactory(workflow=workflow, stage="Published")
    response = admin_api.delete(f"{base}{live.id}")
    assert response.status_code == 409
    assert response.json()["detail"] == "Stage 'Published' holds 1 task; move them to another stage first."
    draft = workflow.stages.get(name="Draft")
    assert admin_api.delete(f"{base}{draft.id}").status_code == 204
    assert workflow_api.get(f"{base}{draft.id}").status_code == 404


def test_it_manages_fields(project_a, workflow_api, admin_api, django_assert_max_num_queries):
    workflow = WorkflowFactory(project=project_a, alias="pipeline")
    base = "/api/v1/workflows/pipeline/fields/"
    response = workflow_api.post(base, {"name": "Priority", "type": "choice", "choices": ["Low", "High"],
                                        "required": True}, format="json")
    assert response.status_code == 201
    field_id = response.json()["id"]
    assert workflow_api.post(base, {"name": "Owner", "type": "user"}, format="json").json()["position"] == 1
    response = workflow_api.post(base, {"name": "Colour", "type": "colour"}, format="json")
    assert response.status_code == 400
    # Queries: the API key, its last-used stamp, the workflow, COUNT, the page.
    with django_assert_max_num_queries(5):
        response = workflow_api.get(base)
    assert [(f["name"], f["type"]) for f in response.json()["items"]] == [("Priority", "choice"), ("Owner", "user")]
    RecordFactory(workflow=workflow, fields={"Priority": "High"})
    response = workflow_api.patch(f"{base}{field_id}", {"name": "Urgency"}, format="json")
    assert response.json()["name"] == "Urgency"
    assert workflow.records.get().fields == {"Urgency": "High"}
    assert admin_api.delete(f"{base}{field_id}").status_code == 204
    assert workflow.records.get().fields == {}


def test_stages_are_workflow_scoped(project_a, workflow_api):
    one, two = WorkflowFactory(project=project_a,
                               alias="one"), WorkflowFactory(project=project_a, alias="two")
    stage = StageFactory(workflow=one, name="Draft")
    assert workflow_api.get(f"/api/v1/workflows/two/stages/{stage.id}").status_code == 404
    assert workflow_api.get(f"/api/v1/workflows/{two.id}/stages/{stage.id}").status_code == 404


def test_the_native_workflow_endpoints_still_answer(board, workflow_api):
    assert workflow_api.get("/api/v1/workflows/").status_code == 200
    assert workflow_api.get("/api/v1/workflows/abc123/").json()["alias"] == "abc123"
    assert workflow_api.get("/api/v1/workflows/abc123/versions/").status_code == 200


def test_it_documents_the_records_endpoints_without_warnings():
    schema, warnings = generate_document(records_urls.urlpatterns)
    assert warnings == {}
    for path in ("/api/v1/workflows/{workflow_id}/tasks/", "/api/v1/workflows/{workflow_id}/tasks/{unique_id}",
                 "/api/v1/workflows/{workflow_id}/tasks/{unique_id}/history", "/api/v1/workflows/{workflow_id}/stages/",
                 "/api/v1/workflows/{workflow_id}/fields/{field_id}"):
        assert path in schema["paths"]
