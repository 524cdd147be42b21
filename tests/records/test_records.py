"""Records, stages and field definitions through their services, and the update_record task type."""

from __future__ import annotations

import pytest
from django.test import TestCase
from rest_framework.exceptions import ValidationError

from accounts.models import Role
from config.errors import Conflict
from executions.models import ExecutionStatus
from records import actions
from records import services as records
from records.models import Record, RecordEvent
from tests.accounts.factories import key_caller, user_caller
from tests.executions.factories import ExecutionFactory
from tests.records.factories import ActionFactory, FieldFactory, RecordFactory, StageFactory
from tests.workflows.factories import WorkflowFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def workflow(project_a):
    """Admissions: stages New, Review and Done, and a field of every type (Name required)."""
    workflow = WorkflowFactory(project=project_a, name="Admissions", alias="admissions")
    for stage in ("New", "Review", "Done"):
        StageFactory(workflow=workflow, name=stage)
    FieldFactory(workflow=workflow, name="Name", required=True)
    FieldFactory(workflow=workflow, name="Email", type="email")
    FieldFactory(workflow=workflow, name="Score", type="number")
    FieldFactory(workflow=workflow, name="Due", type="date")
    FieldFactory(workflow=workflow, name="House", type="choice", choices=["Gryffindor", "Slytherin"])
    FieldFactory(workflow=workflow, name="Mentor", type="user")
    return workflow


def problems_of(call) -> dict:
    with pytest.raises(ValidationError) as caught:
        call()
    return caught.value.detail


# -- creating --------------------------------------------------------------------------------------------
def test_it_numbers_records_per_workflow_and_starts_them_in_the_first_stage(workflow, project_a):
    first = records.create_record(workflow=workflow, fields={"Name": "Harry"})
    second = records.create_record(workflow=workflow)
    other = records.create_record(workflow=WorkflowFactory(project=project_a, alias="other"))
    assert (first.unique_id, second.unique_id, other.unique_id) == (1, 2, 1)
    assert first.stage.name == "New" and other.stage is None
    explicit = records.create_record(workflow=workflow, unique_id=678)
    assert records.create_record(workflow=workflow).unique_id == 679
    assert problems_of(lambda: records.create_record(workflow=workflow, unique_id=678))["unique_id"]
    assert RecordEvent.objects.filter(record=explicit, kind="created").exists()


def test_it_cleans_values_of_every_field_type(workflow, alice):
    record = records.create_record(workflow=workflow, fields={
        "Name": "Harry", "Email": " harry@hogwarts.edu ", "Score": "42", "Due": "2024-09-01T10:00:00Z",
        "House": "Gryffindor", "Mentor": "alice",
    })
    assert record.fields == {"Name": "Harry", "Email": "harry@hogwarts.edu", "Score": 42, "Due": "2024-09-01",
                             "House": "Gryffindor", "Mentor": "alice@example.com"}


def test_it_lists_every_invalid_value_and_unknown_field(workflow, oscar):
    detail = problems_of(lambda: records.create_record(workflow=workflow, fields={
        "Email": "foo", "Score": "many", "Due": "31/12/2024", "House": "Hufflepuff", "Mentor": "oscar",
        "Wand": "holly",
    }))
    assert {key: [str(m) for m in value] for key, value in detail.items()} == {
        "fields.Email": ["foo is not a valid email"],
        "fields.Score": ["many is not a valid number"],
        "fields.Due": ["31/12/2024 is not a valid date (use YYYY-MM-DD)"],
        "fields.House": ["Hufflepuff is not a valid choice (choose one of: Gryffindor, Slytherin)"],
        "fields.Mentor": ["oscar is not a valid user (no member of this account has that username or email)"],
        "fields.Wand": ["Unknown field 'Wand'; this workflow's fields are: Name, Email, Score, Due, House, Mentor."],
    }
    assert not Record.objects.exists()


def test_it_refuses_numbers_that_are_not_finite(workflow):
    for value in ("nan", "inf", True):
        detail = problems_of(lambda value=value: records.create_record(workflow=workflow, fields={"Score": value}))
        assert str(detail["fields.Score"][0]) == f"{value} is not a valid number"


def test_a_number_field_refuses_infinity_from_a_task(workflow):
    definition = workflow.field_definitions.get(name="Score")
    _, problems = records.clean_fields(workflow, {"Score": float("inf")}, [definition])
    assert problems == {"Score": ["inf is not a valid number"]}


def test_a_blank_required_field_is_allowed_until_an_action_needs_it(workflow):
    assert records.create_record(workflow=workflow, fields={"Name": ""}).fields == {"Name": None}


def test_it_checks_checklists_assignees_and_stages(workflow, oscar):
    detail = problems_of(lambda: records.create_record(
        workflow=workflow, checklist=["Interview", {"name": "Interview"}, 7], assignee="oscar", stage="Limbo"))
    assert set(detail) == {"checklist", "assignee", "stage"}
    assert "appears twice" in str(detail["checklist"][0])
    assert str(detail["stage"][0]) == "Stage 'Limbo' does not exist in workflow 'Admissions' (stages: New, Review, Done)."


# -- updating ---------------------------------------------------------------------------------------------
def test_it_merges_fields_and_writes_history(workflow, walter, alice):
    record = RecordFactory(workflow=workflow, fields={"Name": "Harry", "Score": 1})
    records.update_record(record, fields={"Score": 2, "House": "Gryffindor"}, assignee="walter", stage="Review",
                          caller=user_caller(alice))
    record.refresh_from_db()
    assert record.fields == {"Name": "Harry", "Score": 2, "House": "Gryffindor"}
    assert (record.assignee, record.stage.name) == (walter, "Review")
    events = list(record.history.values_list("kind", "actor", "detail"))
    assert events[1:] == [
        ("updated", "alice@example.com", {"changes": {
            "fields": {"from": {"Name": "Harry", "Score": 1}, "to": {"Name": "Harry", "Score": 2, "House": "Gryffindor"}},
            "assignee": {"from": None, "to": "walter@example.com"}}}),
        ("moved", "alice@example.com", {"from": "New", "to": "Review"}),
    ]
    assert record.updated_by.username == "alice"


def test_an_update_that_changes_nothing_writes_no_history(workflow):
    record = RecordFactory(workflow=workflow, fields={"Name": "Harry"})
    records.update_record(record, fields={"Name": "Harry"}, stage="New")
    assert record.history.count() == 1


def test_a_refused_update_changes_nothing(workflow):
    record = RecordFactory(workflow=workflow, fields={"Name": "Harry"})
    problems_of(lambda: records.update_record(record, fields={"Name": "Ron", "Email": "nope"}, stage="Review"))
    record.refresh_from_db()
    assert (record.fields, record.stage.name) == ({"Name": "Harry"}, "New")


# -- stages and fields --------------------------------------------------------------------------------------
def test_it_refuses_to_delete_a_stage_that_holds_records(workflow):
    RecordFactory(workflow=workflow)
    new = workflow.stages.get(name="New")
    with pytest.raises(Conflict, match="holds 1 task"):
        records.delete_stage(new)
    records.delete_stage(workflow.stages.get(name="Done"))
    assert list(workflow.stages.values_list("name", flat=True)) == ["New", "Review"]


def test_stage_and_field_names_are_unique_in_a_workflow(workflow):
    assert problems_of(lambda: records.create_stage(workflow=workflow, name="New"))["name"]
    assert problems_of(lambda: records.create_field(workflow=workflow, name="Email"))["name"]
    assert problems_of(lambda: records.create_field(workflow=workflow, name="Level", type="choice"))["choices"]
    assert problems_of(lambda: records.create_field(workflow=workflow, name="Level", type="colour"))["type"]


def test_renaming_or_deleting_a_field_rewrites_the_records_values(workflow):
    record = RecordFactory(workflow=workflow, fields={"Name": "Harry", "Score": 7})
    records.update_field(workflow.field_definitions.get(name="Score"), name="Points")
    record.refresh_from_db()
    assert record.fields == {"Name": "Harry", "Points": 7}
    records.delete_field(workflow.field_definitions.get(name="Points"))
    record.refresh_from_db()
    assert record.fields == {"Name": "Harry"}


# -- the update_record task type ------------------------------------------------------------------------------
def run_steps(record, tasks):
    """Perform, on ``record``, an action whose steps are ``tasks``; the (eager) engine runs it to its end."""
    action = ActionFactory(workflow=record.workflow, steps={"tasks": tasks})
    with TestCase.captureOnCommitCallbacks(execute=True):
        execution, _ = actions.perform_action(caller=key_caller(record.workflow.tenant, Role.WORKFLOW),
                                              action=action, record=record)
    execution.refresh_from_db()
    record.refresh_from_db()
    return execution


def test_update_record_sets_fields_ticks_items_assigns_and_moves(workflow, walter):
    record = RecordFactory(workflow=workflow, fields={"Name": "Harry"}, checklist=["Letter", "Wand", "Robes"])
    execution = run_steps(record, [
        {"name": "update", "type": "update_record", "config": {
            "fields": {"Score": "{{ 40 + 2 }}", "Email": "{{ record.fields.Name | lower }}@hogwarts.edu"},
            "checklist": ["Letter", "Wand"], "assignee": "walter@example.com", "stage": "Review"}},
        {"name": "untick", "type": "update_record", "config": {"checklist": {"Wand": False}, "assignee": None},
         "depends_on": ["update"]},
    ])
    assert execution.status == ExecutionStatus.SUCCEEDED
    assert record.fields == {"Name": "Harry", "Score": 42, "Email": "harry@hogwarts.edu"}
    assert record.checklist == [{"name": "Letter", "done": True}, {"name": "Wand", "done": False},
                                {"name": "Robes", "done": False}]
    assert (record.assignee, record.stage.name) == (None, "Review")
    output = execution.task_runs.get(name="update").output
    assert output["changed"] == ["assignee", "checklist", "fields", "stage"]
    assert output["record"]["stage"] == "Review"
    kinds = list(record.history.filter(execution=execution, kind__in=("updated", "moved"))
                 .values_list("kind", "actor"))
    assert kinds == [("updated", f"execution:{execution.id}"), ("moved", f"execution:{execution.id}"),
                     ("updated", f"execution:{execution.id}")]


def test_update_record_fails_with_every_problem_and_changes_nothing(workflow):
    record = RecordFactory(workflow=workflow, fields={"Name": "Harry"}, checklist=["Letter"])
    execution = run_steps(record, [
        {"name": "update", "type": "update_record", "config": {
            "fields": {"Email": "foo"}, "checklist": ["Broom"], "stage": "Limbo"}, "retries": 3},
    ])
    assert execution.status == ExecutionStatus.FAILED
    run = execution.task_runs.get(name="update")
    assert run.attempts == 1  # not retried: it would fail the same way
    assert run.message == ("Checklist has no item 'Broom' (items: Letter); foo is not a valid email; "
                           "Stage 'Limbo' does not exist in workflow 'Admissions' (stages: New, Review, Done)")
    assert record.fields == {"Name": "Harry"} and record.stage.name == "New"


def test_update_record_needs_a_record(workflow):
    execution = ExecutionFactory(workflow=workflow, definition={"tasks": [
        {"name": "update", "type": "update_record", "config": {"stage": "Done"}}]}, run=True)
    assert execution.status == ExecutionStatus.FAILED
    assert "no record" in execution.errors[0]

