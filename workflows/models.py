"""Workflows and their versions."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from accounts.models import Project, Tenant, scoped_queryset


class Workflow(models.Model):
    """A named DAG definition in a project. Its definition lives in numbered WorkflowVersions."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="workflows")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="workflows")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, default="")
    # NULL, not "", for no alias: the per-project unique constraint must ignore workflows without one.
    alias = models.SlugField(max_length=100, null=True, blank=True, help_text="Unique in the project; usable instead of the id.")  # noqa: DJ001
    integration_slug = models.SlugField(max_length=100, blank=True, default="", help_text="Refold's `slug` header must match it.")
    enabled = models.BooleanField(default=True)
    tags = models.JSONField(default=dict, blank=True)
    current_version = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    objects = scoped_queryset(project_field="project").as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["project", "alias"], name="workflow_alias_unique_in_project"),
        ]
        indexes = [models.Index(fields=["tenant", "-created_at"])]

    def __str__(self) -> str:
        return self.name


class WorkflowVersion(models.Model):
    """One immutable definition of a workflow; executions pin the version they ran."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    definition = models.JSONField()
    checksum = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    objects = scoped_queryset("workflow__tenant", "workflow__project").as_manager()

    class Meta:
        ordering = ["-number"]
        constraints = [models.UniqueConstraint(fields=["workflow", "number"], name="version_number_unique")]

    def __str__(self) -> str:
        return f"{self.workflow} v{self.number}"
