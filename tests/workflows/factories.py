"""Workflows, written through ``workflows.services.create_workflow`` so that version 1 exists."""

from __future__ import annotations

import factory

from tests.accounts.factories import ProjectFactory
from workflows.models import Workflow
from workflows.services import create_workflow


class WorkflowFactory(factory.Factory):
    """A workflow whose definition runs ``tasks`` (none by default)."""

    class Meta:
        model = Workflow

    class Params:
        tasks: list = []

    project = factory.SubFactory(ProjectFactory)
    name = factory.Sequence(lambda n: f"workflow-{n}")
    definition = factory.LazyAttribute(lambda workflow: {"tasks": list(workflow.tasks)})

    @classmethod
    def _create(cls, model_class, **kwargs):
        return create_workflow(**kwargs)
