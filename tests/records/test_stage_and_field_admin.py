"""Stages and fields in the admin, on their own pages and as the workflow page's inlines, change through the services.

Renaming a field renames the values stored under it on the workflow's records; deleting one drops
them. A stage that holds records is not deleted (a record's stage is a RESTRICT foreign key): the
page says which records keep it, and nothing changes. An empty stage is deleted.
"""

from __future__ import annotations

import pytest
from django import forms

from records.models import FieldDefinition, Record, Stage
from tests.records.factories import BoardFactory

pytestmark = pytest.mark.django_db

HOLDS_RECORDS = "would require deleting the following protected related objects"
MOVE_THEM = "Stage &#x27;New&#x27; holds 1 task; move them to another stage first."


@pytest.fixture
def board(project_a):
    return BoardFactory(project=project_a)


def unchanged_post(response) -> dict:
    """What a browser posts for an admin change page submitted unchanged: its form and every inline."""
    context_forms = [response.context["adminform"].form]
    data: dict = {}
    for inline in response.context["inline_admin_formsets"]:
        management = inline.formset.management_form
        data.update({management.add_prefix(name): management[name].value() for name in management.fields})
        context_forms.extend(inline.formset.forms)
    for form in context_forms:
        for name, field in form.fields.items():
            value = form[name].value()
            if isinstance(field, forms.BooleanField):
                if value:
                    data[form.add_prefix(name)] = "on"
            elif isinstance(value, list | tuple):
                data[form.add_prefix(name)] = [str(item) for item in value]
            else:
                data[form.add_prefix(name)] = "" if value is None else str(value)
    return data


def inline_prefix(data: dict, inline: str, name: str) -> str:
    """The form prefix (``stages-0``) of the inline row currently named ``name``."""
    return next(key.removesuffix("-name") for key, value in data.items()
                if key.startswith(f"{inline}-") and key.endswith("-name") and value == name)


def fields_of(record: Record) -> dict:
    return Record.objects.get(pk=record.pk).fields


# -- the field definition pages ------------------------------------------------------------------------
def test_renaming_a_field_renames_the_values_stored_under_it(admin_client, board):
    email = FieldDefinition.objects.get(workflow=board.workflow, name="Email")
    url = f"/admin/records/fielddefinition/{email.pk}/change/"
    data = {**unchanged_post(admin_client.get(url)), "name": "Owl post"}
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert FieldDefinition.objects.get(pk=email.pk).name == "Owl post"
    assert fields_of(board.record) == {"Name": "Hon. Harry Potter", "Owl post": "harry@hogwarts.edu"}


def test_a_rename_to_a_name_the_workflow_has_is_refused_and_changes_nothing(admin_client, board):
    email = FieldDefinition.objects.get(workflow=board.workflow, name="Email")
    url = f"/admin/records/fielddefinition/{email.pk}/change/"
    response = admin_client.post(url, {**unchanged_post(admin_client.get(url)), "name": "Name"})
    assert response.status_code == 200
    assert "This workflow already has a field named &#x27;Name&#x27;." in response.content.decode()
    assert FieldDefinition.objects.get(pk=email.pk).name == "Email"
    assert fields_of(board.record) == {"Name": "Hon. Harry Potter", "Email": "harry@hogwarts.edu"}


def test_deleting_a_field_drops_its_values(admin_client, board):
    email = FieldDefinition.objects.get(workflow=board.workflow, name="Email")
    response = admin_client.post(f"/admin/records/fielddefinition/{email.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not FieldDefinition.objects.filter(pk=email.pk).exists()
    assert fields_of(board.record) == {"Name": "Hon. Harry Potter"}


def test_deleting_selected_fields_drops_their_values(admin_client, board):
    chosen = FieldDefinition.objects.filter(workflow=board.workflow, name__in=["Email", "House"])
    response = admin_client.post("/admin/records/fielddefinition/", {
        "action": "delete_selected", "_selected_action": [str(pk) for pk in chosen.values_list("pk", flat=True)],
        "post": "yes"})
    assert response.status_code == 302
    assert list(board.workflow.field_definitions.values_list("name", flat=True)) == ["Name"]
    assert fields_of(board.record) == {"Name": "Hon. Harry Potter"}


# -- the stage pages -----------------------------------------------------------------------------------
def test_renaming_a_stage_keeps_its_records_in_it(admin_client, board):
    url = f"/admin/records/stage/{board.new.pk}/change/"
    response = admin_client.post(url, {**unchanged_post(admin_client.get(url)), "name": " Letters "})
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Record.objects.get(pk=board.record.pk).stage.name == "Letters"


def test_a_stage_rename_to_a_name_the_workflow_has_is_refused(admin_client, board):
    url = f"/admin/records/stage/{board.new.pk}/change/"
    response = admin_client.post(url, {**unchanged_post(admin_client.get(url)), "name": "Approved"})
    assert response.status_code == 200
    assert "This workflow already has a stage named &#x27;Approved&#x27;." in response.content.decode()
    assert Stage.objects.get(pk=board.new.pk).name == "New"


def test_a_stage_that_holds_records_is_not_deleted_and_the_page_says_why(admin_client, board):
    url = f"/admin/records/stage/{board.new.pk}/delete/"
    page = admin_client.get(url).content.decode()
    response = admin_client.post(url, {"post": "yes"})
    content = response.content.decode()
    assert response.status_code == 200
    for shown in (page, content):
        assert HOLDS_RECORDS in shown and MOVE_THEM in shown
        assert "Admissions #678" in shown
    assert Stage.objects.filter(pk=board.new.pk).exists()
    assert Record.objects.get(pk=board.record.pk).stage_id == board.new.pk


def test_delete_selected_keeps_every_stage_when_one_holds_records(admin_client, board):
    response = admin_client.post("/admin/records/stage/", {
        "action": "delete_selected", "_selected_action": [str(board.new.pk), str(board.rejected.pk)], "post": "yes"})
    content = response.content.decode()
    assert response.status_code == 200
    assert HOLDS_RECORDS in content and MOVE_THEM in content and "Admissions #678" in content
    assert set(board.workflow.stages.values_list("name", flat=True)) == {"New", "Approved", "Rejected"}
    assert Record.objects.get(pk=board.record.pk).stage_id == board.new.pk


def test_an_empty_stage_is_deleted(admin_client, board):
    response = admin_client.post(f"/admin/records/stage/{board.rejected.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    response = admin_client.post("/admin/records/stage/", {
        "action": "delete_selected", "_selected_action": [str(board.approved.pk)], "post": "yes"})
    assert response.status_code == 302
    assert list(board.workflow.stages.values_list("name", flat=True)) == ["New"]


# -- the workflow page's inlines -----------------------------------------------------------------------
def workflow_page(admin_client, board) -> tuple[str, dict]:
    url = f"/admin/workflows/workflow/{board.workflow.pk}/change/"
    return url, unchanged_post(admin_client.get(url))


def test_the_workflow_page_saves_unchanged_without_touching_stages_or_fields(admin_client, board):
    url, data = workflow_page(admin_client, board)
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    assert list(board.workflow.stages.values_list("name", flat=True)) == ["New", "Approved", "Rejected"]
    assert list(board.workflow.field_definitions.values_list("name", flat=True)) == ["Name", "Email", "House"]
    assert fields_of(board.record) == {"Name": "Hon. Harry Potter", "Email": "harry@hogwarts.edu"}


def test_renaming_a_field_in_the_inline_renames_its_values(admin_client, board):
    url, data = workflow_page(admin_client, board)
    data[f"{inline_prefix(data, 'field_definitions', 'Email')}-name"] = "Owl post"
    data[f"{inline_prefix(data, 'stages', 'New')}-name"] = "Letters"
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    assert list(board.workflow.field_definitions.values_list("name", flat=True)) == ["Name", "Owl post", "House"]
    assert fields_of(board.record) == {"Name": "Hon. Harry Potter", "Owl post": "harry@hogwarts.edu"}
    assert Record.objects.get(pk=board.record.pk).stage.name == "Letters"


def test_deleting_a_field_in_the_inline_drops_its_values(admin_client, board):
    url, data = workflow_page(admin_client, board)
    data[f"{inline_prefix(data, 'field_definitions', 'Email')}-DELETE"] = "on"
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    assert list(board.workflow.field_definitions.values_list("name", flat=True)) == ["Name", "House"]
    assert fields_of(board.record) == {"Name": "Hon. Harry Potter"}


def test_deleting_a_stage_that_holds_records_in_the_inline_is_refused_and_changes_nothing(admin_client, board):
    url, data = workflow_page(admin_client, board)
    data[f"{inline_prefix(data, 'stages', 'New')}-DELETE"] = "on"
    data[f"{inline_prefix(data, 'stages', 'Rejected')}-DELETE"] = "on"
    data[f"{inline_prefix(data, 'field_definitions', 'Email')}-name"] = "Owl post"
    response = admin_client.post(url, data)
    content = response.content.decode()
    assert response.status_code == 200
    assert HOLDS_RECORDS in content and "Admissions #678" in content
    assert list(board.workflow.stages.values_list("name", flat=True)) == ["New", "Approved", "Rejected"]
    assert Record.objects.get(pk=board.record.pk).stage_id == board.new.pk
    assert fields_of(board.record) == {"Name": "Hon. Harry Potter", "Email": "harry@hogwarts.edu"}


def test_a_rename_in_the_inline_to_a_name_the_workflow_has_is_refused(admin_client, board):
    url, data = workflow_page(admin_client, board)
    data[f"{inline_prefix(data, 'field_definitions', 'Email')}-name"] = "Name"
    response = admin_client.post(url, data)
    assert response.status_code == 200
    assert "This workflow already has a field named &#x27;Name&#x27;." in response.content.decode()
    assert fields_of(board.record) == {"Name": "Hon. Harry Potter", "Email": "harry@hogwarts.edu"}


def test_deleting_an_empty_stage_in_the_inline_deletes_it(admin_client, board):
    url, data = workflow_page(admin_client, board)
    data[f"{inline_prefix(data, 'stages', 'Rejected')}-DELETE"] = "on"
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    assert list(board.workflow.stages.values_list("name", flat=True)) == ["New", "Approved"]
