"""The operators' admin for workflows, stages, fields, records and actions saves through the services."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from records.models import Action, Record
from tests.records.factories import ActionFactory, BoardFactory, RecordFactory
from workflows.models import Workflow

pytestmark = pytest.mark.django_db


@pytest.fixture
def board(project_a):
    return BoardFactory(project=project_a)


@pytest.mark.parametrize("model", ["workflows/workflow", "workflows/workflowversion", "records/stage",
                                   "records/fielddefinition", "records/record", "records/action"])
def test_it_lists_each_model_and_shows_its_pages(admin_client, board, model):
    assert admin_client.get(f"/admin/{model}/").status_code == 200
    assert admin_client.get(f"/admin/{model}/?q=a").status_code == 200
    objects = {"workflow": board.workflow, "workflowversion": board.workflow.versions.get(), "stage": board.new,
               "fielddefinition": board.workflow.field_definitions.first(), "record": board.record,
               "action": board.approve}
    assert admin_client.get(f"/admin/{model}/{objects[model.split('/')[1]].pk}/change/").status_code == 200
    if model != "workflows/workflowversion":
        assert admin_client.get(f"/admin/{model}/add/").status_code == 200


def _inline_management(prefix: str, total: int = 0, initial: int = 0) -> dict:
    return {f"{prefix}-TOTAL_FORMS": str(total), f"{prefix}-INITIAL_FORMS": str(initial),
            f"{prefix}-MIN_NUM_FORMS": "0", f"{prefix}-MAX_NUM_FORMS": "1000"}


def test_adding_a_workflow_makes_its_first_version_and_stages(admin_client, project_a):
    data = {"project": str(project_a.id), "name": "Onboarding", "description": "", "alias": "onboarding",
            "integration_slug": "", "enabled": "on", "tags": "{}",
            "definition": json.dumps({"tasks": [{"name": "hello", "type": "log", "config": {"message": "hi"}}]}),
            **_inline_management("stages", total=1), "stages-0-name": "Todo", "stages-0-position": "0",
            **_inline_management("field_definitions"), **_inline_management("versions")}
    response = admin_client.post("/admin/workflows/workflow/add/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    workflow = Workflow.objects.get(alias="onboarding")
    assert workflow.current_version == 1
    assert workflow.versions.get().definition["tasks"][0]["name"] == "hello"
    assert list(workflow.stages.values_list("name", flat=True)) == ["Todo"]


def test_it_refuses_an_invalid_definition(admin_client, project_a):
    data = {"project": str(project_a.id), "name": "Broken", "tags": "{}",
            "definition": json.dumps({"tasks": [{"name": "x", "type": "teleport"}]}),
            **_inline_management("stages"), **_inline_management("field_definitions"),
            **_inline_management("versions")}
    response = admin_client.post("/admin/workflows/workflow/add/", data)
    assert response.status_code == 200
    assert "unknown task type" in response.content.decode()
    assert not Workflow.objects.exists()


def test_changing_a_record_checks_its_fields_and_writes_history(admin_client, board):
    url = f"/admin/records/record/{board.record.pk}/change/"
    base = {"stage": str(board.approved.pk), "checklist": json.dumps([{"name": "Letter sent", "done": True}]),
            "assignee": str(board.harry.pk), **_inline_management("history", initial=0)}
    response = admin_client.post(url, {**base, "fields": json.dumps({"Name": "Hon. Harry", "Email": "foo"})})
    assert response.status_code == 200
    assert "foo is not a valid email" in response.content.decode()
    response = admin_client.post(url, {**base, "fields": json.dumps({"Name": "Hon. Harry"})})
    assert response.status_code == 302
    record = Record.objects.get(pk=board.record.pk)
    assert (record.fields, record.stage) == ({"Name": "Hon. Harry"}, board.approved)
    assert record.history.filter(kind="moved").exists()


def test_it_validates_and_saves_an_action(admin_client, board, project_a):
    data = {"project": str(project_a.id), "workflow": str(board.workflow.pk), "name": "Hold", "description": "",
            "short_id": "Hold01", "enabled": "on", "stages": [str(board.new.pk)], "target_stage": "",
            "allowed_roles": "[]", "requirements": json.dumps({"must_be_assigned": "yes"}),
            "steps": json.dumps({"tasks": []})}
    response = admin_client.post("/admin/records/action/add/", data)
    assert response.status_code == 200
    assert "Must be true or false." in response.content.decode()
    response = admin_client.post("/admin/records/action/add/", {**data, "requirements": "{}"})
    assert response.status_code == 302
    action = Action.objects.get(short_id="Hold01")
    assert list(action.stages.all()) == [board.new]


def test_the_action_list_costs_the_same_queries_for_many_actions(admin_client, board,
                                                                 django_assert_max_num_queries):
    for n in range(10):
        ActionFactory(workflow=board.workflow, name=f"Escalate {n}", stages=["New"], target_stage="Approved")
    with django_assert_max_num_queries(8):
        assert admin_client.get("/admin/records/action/").status_code == 200


def test_the_stage_filter_reads_the_stages_not_every_record(admin_client, board):
    for _ in range(20):
        RecordFactory(workflow=board.workflow)
    with CaptureQueriesContext(connection) as captured:
        page = admin_client.get("/admin/records/record/")
    assert page.status_code == 200
    assert "DISTINCT" not in " ".join(query["sql"] for query in captured.captured_queries)
    # Every stage of the workflow is offered, records in it or not, by its id.
    for stage in (board.new, board.approved, board.rejected):
        assert f"?stage={stage.pk}".encode() in page.content
    filtered = admin_client.get("/admin/records/record/", {"stage": str(board.new.pk)})
    assert {record.stage_id for record in filtered.context["cl"].result_list} == {board.new.pk}
    assert len(filtered.context["cl"].result_list) == 21
    chosen = admin_client.get("/admin/records/record/", {"workflow__id__exact": str(board.workflow.pk)})
    assert f"stage={board.approved.pk}".encode() in chosen.content
