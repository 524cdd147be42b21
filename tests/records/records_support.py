"""Builders for records and actions tests, and a contract check against the generated OpenAPI document.

``hogwarts_board`` sets up the Flowdash document's example: workflow ``abc123`` with task 678,
actions ``edHR10`` (Approve) and ``PvHaOO`` (Reject), and the user harry@hogwarts.edu.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator

from accounts import services as account_services
from accounts.models import Role
from records import actions as action_services
from records import services as record_services
from records.models import Action, Record, Stage
from tests.conftest import PASSWORD
from workflows.models import Workflow
from workflows.services import create_workflow

HONORABLE = {"expression": "record.fields.Name.startswith('Hon.')", "message": "Name must include honorable prefix"}
ALL_REQUIREMENTS = {"required_fields": ["Name"], "checklist_complete": True, "must_be_assigned": True,
                    "conditions": [HONORABLE]}


@dataclass
class Board:
    workflow: Workflow
    new: Stage
    approved: Stage
    rejected: Stage
    record: Record
    approve: Action
    reject: Action
    harry: object


def make_workflow(project, alias: str | None = None, name: str = "Admissions", tasks: list | None = None) -> Workflow:
    return create_workflow(project=project, name=name, alias=alias, definition={"tasks": tasks or []})


def make_stages(workflow: Workflow, *names: str) -> list[Stage]:
    return [record_services.create_stage(workflow=workflow, name=name) for name in names]


def hogwarts_board(tenant, project, *, approve_steps: list | None = None, requirements: dict | None = None,
                   record_fields: dict | None = None) -> Board:
    """Workflow abc123 (stages New, Approved, Rejected; fields Name (required), Email, House), task 678 in New
    meeting every requirement, Approve (edHR10) and Reject (PvHaOO) offered in New."""
    harry = account_services.create_user("harry", PASSWORD, email="harry@hogwarts.edu", tenant=tenant,
                                         role=Role.WORKFLOW)
    workflow = make_workflow(project, alias="abc123")
    new, approved, rejected = make_stages(workflow, "New", "Approved", "Rejected")
    record_services.create_field(workflow=workflow, name="Name", type="text", required=True)
    record_services.create_field(workflow=workflow, name="Email", type="email")
    record_services.create_field(workflow=workflow, name="House", type="choice",
                                 choices=["Gryffindor", "Hufflepuff", "Ravenclaw", "Slytherin"])
    record = record_services.create_record(
        workflow=workflow, unique_id=678,
        fields=record_fields if record_fields is not None else {"Name": "Hon. Harry Potter",
                                                                "Email": "harry@hogwarts.edu"},
        checklist=[{"name": "Letter sent", "done": True}], assignee="harry@hogwarts.edu",
    )
    approve = action_services.create_action(
        project=project, workflow=workflow, name="Approve", short_id="edHR10", stages=["New"],
        target_stage="Approved", requirements=ALL_REQUIREMENTS if requirements is None else requirements,
        steps={"tasks": approve_steps if approve_steps is not None else [
            {"name": "note", "type": "log", "config": {"message": "Approving {{ record.fields.Name }}"}}]},
    )
    reject = action_services.create_action(project=project, workflow=workflow, name="Reject", short_id="PvHaOO",
                                           stages=["New"], target_stage="Rejected")
    return Board(workflow, new, approved, rejected, record, approve, reject, harry)


# -- contract --------------------------------------------------------------------------------------------
@cache
def surface_schema() -> tuple[dict, dict]:
    """The OpenAPI document of the records, actions, Flowdash and mindzie endpoints, and its warnings."""
    from records.api import urls

    GENERATOR_STATS.reset()
    schema = SchemaGenerator(patterns=urls.urlpatterns).get_schema(request=None, public=True)
    warnings = dict(GENERATOR_STATS._warn_cache) | dict(GENERATOR_STATS._error_cache)
    GENERATOR_STATS.reset()
    return schema, warnings


