"""Stages, fields, records and actions, written through ``records.services`` and ``records.actions``.

``BoardFactory`` sets up the Flowdash document's example: workflow ``abc123`` with task 678,
actions ``edHR10`` (Approve) and ``PvHaOO`` (Reject), and the user harry@hogwarts.edu.
"""

from __future__ import annotations

from dataclasses import dataclass

import factory

from accounts.models import Role
from records import actions, services
from records.models import Action, FieldDefinition, Record, Stage
from tests.accounts.factories import ProjectFactory, UserFactory
from tests.workflows.factories import WorkflowFactory
from workflows.models import Workflow

HONORABLE = {"expression": "record.fields.Name.startswith('Hon.')",
             "message": "Name must include honorable prefix"}
ALL_REQUIREMENTS = {"required_fields": ["Name"], "checklist_complete": True, "must_be_assigned": True,
                    "conditions": [HONORABLE]}


class StageFactory(factory.Factory):
    class Meta:
        model = Stage

    workflow = factory.SubFactory(WorkflowFactory)
    name = factory.Sequence(lambda n: f"Stage {n}")

    @classmethod
    def _create(cls, model_class, **kwargs):
        return services.create_stage(**kwargs)


class FieldFactory(factory.Factory):
    """A field definition of ``workflow`` (text unless ``type`` says otherwise)."""

    class Meta:
        model = FieldDefinition

    workflow = factory.SubFactory(WorkflowFactory)
    name = factory.Sequence(lambda n: f"Field {n}")

    @classmethod
    def _create(cls, model_class, **kwargs):
        return services.create_field(**kwargs)


class RecordFactory(factory.Factory):
    """A record (a Flowdash task) of ``workflow``, numbered after its highest, in its first stage."""

    class Meta:
        model = Record

    workflow = factory.SubFactory(WorkflowFactory)

    @classmethod
    def _create(cls, model_class, **kwargs):
        return services.create_record(**kwargs)


class ActionFactory(factory.Factory):
    """An action of ``project`` (of ``workflow``'s project, for that workflow's records, when one is given).

    Other keywords (short_id, stages, target_stage, requirements, steps, ...) go to ``create_action``.
    """

    class Meta:
        model = Action

    workflow = None
    project = factory.LazyAttribute(
        lambda action: action.workflow.project if action.workflow is not None else ProjectFactory())
    name = factory.Sequence(lambda n: f"Action {n}")

    @classmethod
    def _create(cls, model_class, **kwargs):
        return actions.create_action(**kwargs)


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


def approve_note() -> list[dict]:
    return [{"name": "note", "type": "log", "config": {"message": "Approving {{ record.fields.Name }}"}}]


class BoardFactory(factory.Factory):
    """Workflow abc123 "Admissions" (stages New, Approved, Rejected; fields Name (required), Email, House),
    task 678 in New meeting every requirement, Approve (edHR10) and Reject (PvHaOO) offered in New.

    ``approve_steps``, ``requirements`` and ``record_fields`` replace Approve's steps, Approve's
    requirements and task 678's fields.
    """

    class Meta:
        model = Board

    project = factory.SubFactory(ProjectFactory)
    approve_steps = factory.LazyFunction(approve_note)
    requirements = ALL_REQUIREMENTS
    record_fields = factory.Dict({"Name": "Hon. Harry Potter", "Email": "harry@hogwarts.edu"})

    @classmethod
    def _create(cls, model_class, *, project, approve_steps, requirements, record_fields):
        harry = UserFactory(username="harry", email="harry@hogwarts.edu", tenant=project.tenant,
                            role=Role.WORKFLOW)
        workflow = WorkflowFactory(project=project, name="Admissions", alias="abc123")
        new, approved, rejected = (StageFactory(workflow=workflow, name=name)
                                   for name in ("New", "Approved", "Rejected"))
        FieldFactory(workflow=workflow, name="Name", required=True)
        FieldFactory(workflow=workflow, name="Email", type="email")
        FieldFactory(workflow=workflow, name="House", type="choice",
                     choices=["Gryffindor", "Hufflepuff", "Ravenclaw", "Slytherin"])
        record = RecordFactory(workflow=workflow, unique_id=678, fields=record_fields,
                               checklist=[{"name": "Letter sent", "done": True}],
                               assignee="harry@hogwarts.edu")
        approve = ActionFactory(workflow=workflow, name="Approve", short_id="edHR10", stages=["New"],
                                target_stage="Approved", requirements=requirements,
                                steps={"tasks": approve_steps})
        reject = ActionFactory(workflow=workflow, name="Reject", short_id="PvHaOO", stages=["New"],
                               target_stage="Rejected")
        return model_class(workflow, new, approved, rejected, record, approve, reject, harry)
