"""Every write to workflows and their versions goes through these functions."""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

from django.db import transaction
from django.utils import timezone
from rest_framework.exceptions import NotFound, ValidationError

from accounts.caller import Caller
from accounts.models import Project
from accounts.scoping import get_for_caller
from workflows.models import Workflow, WorkflowVersion
from workflows.validation import normalize_definition, validate_definition

WORKFLOW_NOT_FOUND = "Workflow not found."


class DefinitionInvalid(ValidationError):
    """A definition with problems; ``problems`` lists every one (task, field, message).

    The error fields are paths under ``prefix``: the body field that held the definition.
    """

    def __init__(self, problems: list[dict], prefix: str = "definition") -> None:
        self.problems = problems
        detail: dict[str, list[str]] = {}
        for p in problems:
            field = p["field"].removeprefix("definition").lstrip(".")
            path = f"{prefix}.{field}" if field else prefix
            message = f"task {p['task']!r}: {p['message']}" if p["task"] else p["message"]
            detail.setdefault(path, []).append(message)
        super().__init__(detail)


def definition_checksum(definition: dict) -> str:
    return hashlib.sha256(json.dumps(definition, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def check_definition(definition: Any, prefix: str = "definition") -> dict:
    """Validate and normalize a definition, raising DefinitionInvalid with every problem."""
    problems = validate_definition(definition)
    if problems:
        raise DefinitionInvalid(problems, prefix)
    return normalize_definition(definition)


def _add_version(workflow: Workflow, definition: dict, user=None) -> WorkflowVersion | None:
    """Store the definition as a new version unless it equals the current one."""
    checksum = definition_checksum(definition)
    current = workflow.versions.filter(number=workflow.current_version).first()
    if current is not None and current.checksum == checksum:
        return None
    number = workflow.current_version + 1
    version = WorkflowVersion.objects.create(
        workflow=workflow, number=number, definition=definition, checksum=checksum, created_by=user,
    )
    workflow.current_version = number
    workflow.updated_at = timezone.now()
    workflow.save(update_fields=["current_version", "updated_at"])
    return version


@transaction.atomic
def create_workflow(*, project: Project, name: str, definition: dict, description: str = "",
                    alias: str | None = None, integration_slug: str = "", enabled: bool = True,
                    tags: dict | None = None, user=None) -> Workflow:
    normalized = check_definition(definition)
    workflow = Workflow.objects.create(
        tenant_id=project.tenant_id, project=project, name=name, description=description, alias=alias or None,
        integration_slug=integration_slug or "", enabled=enabled, tags=tags or {}, created_by=user,
    )
    _add_version(workflow, normalized, user)
    return workflow


@transaction.atomic
def update_workflow(workflow: Workflow, *, user=None, definition: dict | None = None, **changes) -> Workflow:
    """Change attributes; a changed definition becomes a new numbered version."""
    locked = Workflow.objects.select_for_update().get(pk=workflow.pk)
    fields = []
    for name in ("name", "description", "alias", "integration_slug", "enabled", "tags"):
        if name in changes:
            value = changes[name]
            if name == "alias":
                value = value or None
            if name == "integration_slug":
                value = value or ""
            setattr(locked, name, value)
            fields.append(name)
    if fields:
        locked.updated_at = timezone.now()
        locked.save(update_fields=[*fields, "updated_at"])
    if definition is not None:
        _add_version(locked, check_definition(definition), user)
    return locked


def current_definition(workflow: Workflow) -> dict:
    version = workflow.versions.filter(number=workflow.current_version).first()
    return version.definition if version else {"tasks": []}


def default_project(caller: Caller) -> Project:
    """The caller's only project, for writes that do not name one; 400 when there are several or none."""
    projects = list(Project.objects.for_caller(caller)[:2])
    if len(projects) != 1:
        raise ValidationError({"project": ["This tenant has several projects; say which one (project id)."]
                               if projects else ["This tenant has no project; create one in the admin first."]})
    return projects[0]


def get_workflow_for(caller: Caller | None, id_or_alias: str, queryset=None) -> Workflow:
    """The caller's workflow by UUID or by alias (the alias must be unambiguous in the tenant)."""
    queryset = queryset if queryset is not None else Workflow.objects.all()
    try:
        workflow_id = uuid.UUID(str(id_or_alias))
    except ValueError:
        workflow_id = None
    if workflow_id is not None:
        return get_for_caller(queryset, caller, WORKFLOW_NOT_FOUND, pk=workflow_id)
    matches = list(queryset.for_caller(caller).filter(alias=id_or_alias)[:2])
    if len(matches) != 1:
        raise NotFound(WORKFLOW_NOT_FOUND if not matches else
                       f"Alias {id_or_alias!r} is used in several projects; use the workflow id.")
    return matches[0]


def version_for(workflow: Workflow, number: int | None = None) -> WorkflowVersion:
    number = workflow.current_version if number is None else number
    version = workflow.versions.filter(number=number).first()
    if version is None:
        raise NotFound(f"Workflow {workflow.id} has no version {number}.")
    return version
