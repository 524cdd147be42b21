"""The Flowdash domain: stages, field definitions, records and their history, actions.

Records live in a workflow's stages; actions start executions (on a record, or in a project as
mindzie runs them). ``ActionExecution`` links an execution to the action and record it ran for:
the engine's executions name nothing above the engine.
"""

from __future__ import annotations

import secrets
import string
import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from accounts.models import Project, Tenant, scoped_queryset
from executions.models import Execution
from workflows.models import Workflow


class Stage(models.Model):
    """A column a record sits in; actions move records between stages."""

    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="stages")
    name = models.CharField(max_length=100)
    position = models.PositiveIntegerField(default=0)

    objects = scoped_queryset("workflow__tenant", "workflow__project").as_manager()

    class Meta:
        ordering = ["position", "id"]
        constraints = [models.UniqueConstraint(fields=["workflow", "name"], name="stage_name_unique_in_workflow")]

    def __str__(self) -> str:
        return self.name


class FieldType(models.TextChoices):
    TEXT = "text"
    NUMBER = "number"
    DATE = "date"
    EMAIL = "email"
    CHOICE = "choice"
    USER = "user"


class FieldDefinition(models.Model):
    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="field_definitions")
    name = models.CharField(max_length=100)
    type = models.CharField(max_length=20, choices=FieldType.choices, default=FieldType.TEXT)
    required = models.BooleanField(default=False)
    choices = models.JSONField(default=list, blank=True)
    position = models.PositiveIntegerField(default=0)

    objects = scoped_queryset("workflow__tenant", "workflow__project").as_manager()

    class Meta:
        ordering = ["position", "id"]
        constraints = [models.UniqueConstraint(fields=["workflow", "name"], name="field_name_unique_in_workflow")]

    def __str__(self) -> str:
        return self.name


class Record(models.Model):
    """A work item in a workflow stage (Flowdash calls it a task)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="records")
    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="records")
    unique_id = models.PositiveIntegerField(help_text="Per-workflow number, as in Flowdash's task 678.")
    # RESTRICT: a stage that holds records cannot be deleted (deleting the workflow takes both).
    stage = models.ForeignKey(Stage, on_delete=models.RESTRICT, null=True, blank=True, related_name="records")
    fields = models.JSONField(default=dict, blank=True)
    checklist = models.JSONField(default=list, blank=True, help_text='[{"name": "...", "done": false}]')
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="assigned_records")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    objects = scoped_queryset(project_field="workflow__project").as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["workflow", "unique_id"], name="record_unique_id_in_workflow")]

    def __str__(self) -> str:
        return f"{self.workflow} #{self.unique_id}"


class RecordEvent(models.Model):
    """One entry of a record's history: what happened, by whom, when, with what outcome."""

    record = models.ForeignKey(Record, on_delete=models.CASCADE, related_name="history")
    kind = models.CharField(max_length=40)
    action = models.ForeignKey("records.Action", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    execution = models.ForeignKey(Execution, on_delete=models.SET_NULL, null=True, blank=True, related_name="record_events")
    actor = models.CharField(max_length=200, blank=True, default="")
    outcome = models.CharField(max_length=40, blank=True, default="")
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = scoped_queryset("record__tenant", "record__workflow__project").as_manager()

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        outcome = f" ({self.outcome})" if self.outcome else ""
        return f"{self.kind}{outcome} by {self.actor or 'system'}"


_SHORT_ID_ALPHABET = string.ascii_letters + string.digits


def new_short_id() -> str:
    return "".join(secrets.choice(_SHORT_ID_ALPHABET) for _ in range(6))


class Action(models.Model):
    """A permissioned operation that starts an execution, on records (Flowdash) or in a project (mindzie)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    short_id = models.CharField(max_length=16, default=new_short_id, help_text="Flowdash-style id, e.g. edHR10; unique in the tenant.")
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="actions")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="actions")
    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, null=True, blank=True, related_name="actions",
                                 help_text="The workflow whose records the action works on, if any.")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, default="")
    enabled = models.BooleanField(default=True)
    stages = models.ManyToManyField(Stage, blank=True, related_name="offered_actions", help_text="Offered in these stages.")
    target_stage = models.ForeignKey(Stage, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    allowed_roles = models.JSONField(default=list, blank=True, help_text="Roles that may perform it; empty means admin and workflow.")
    allowed_users = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")
    requirements = models.JSONField(default=dict, blank=True, help_text=(
        '{"required_fields": [...], "checklist_complete": bool, "must_be_assigned": bool, '
        '"conditions": [{"expression": "...", "message": "..."}]}'
    ))
    steps = models.JSONField(default=dict, blank=True, help_text='A workflow definition: {"tasks": [...]}.')
    report_to_flow_runs = models.BooleanField(default=False, help_text="Mirror each execution into a Port flow run.")
    created_at = models.DateTimeField(default=timezone.now)

    objects = scoped_queryset(project_field="project").as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["tenant", "short_id"], name="action_short_id_unique_in_tenant")]

    def __str__(self) -> str:
        return self.name


class ActionExecution(models.Model):
    """The action (and, on Flowdash, the record) an execution was started for."""

    execution = models.OneToOneField(Execution, on_delete=models.CASCADE, primary_key=True, related_name="action_link")
    # SET_NULL: a deleted action or record leaves its past executions in place, unlinked.
    action = models.ForeignKey(Action, on_delete=models.SET_NULL, null=True, blank=True, related_name="execution_links")
    record = models.ForeignKey(Record, on_delete=models.SET_NULL, null=True, blank=True, related_name="execution_links")
    # The execution's created_at, copied: an action's executions are listed newest first from this
    # table's own index, without sorting every execution the action ever had.
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["action", "execution"]),
            models.Index(fields=["action", "-created_at", "-execution"], name="action_execution_newest"),
        ]

    def __str__(self) -> str:
        return f"{self.execution_id} for {self.action_id or 'a deleted action'}"
