"""Schedules: a workflow started on a cron expression in a time zone, and the executions each started."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils.timezone import now

from accounts.models import Project, Tenant, scoped_queryset
from executions.models import Execution


class OverlapPolicy(models.TextChoices):
    SKIP = "skip", "Skip a run while the previous one is unfinished"
    ALLOW = "allow", "Start every run, whatever is still running"
    CANCEL = "cancel", "Cancel the unfinished runs, then start"


class CatchupPolicy(models.TextChoices):
    NONE = "none", "Start no run that was missed during downtime"
    LATEST = "latest", "Start the latest missed run only"


class Schedule(models.Model):
    """A workflow started on a cron expression; ``next_run_at`` is when the sweeper starts it next."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="schedules")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="schedules")
    workflow = models.ForeignKey("workflows.Workflow", on_delete=models.CASCADE, related_name="schedules")
    name = models.CharField(max_length=200, blank=True, default="")
    cron = models.CharField(max_length=200, help_text="Five fields: minute hour day-of-month month day-of-week.")
    timezone = models.CharField(max_length=64, default="UTC", help_text="IANA name, such as Europe/Berlin.")
    input = models.JSONField(default=dict, blank=True)
    enabled = models.BooleanField(default=True)
    overlap_policy = models.CharField(max_length=10, choices=OverlapPolicy.choices, default=OverlapPolicy.SKIP)
    catchup_policy = models.CharField(max_length=10, choices=CatchupPolicy.choices, default=CatchupPolicy.NONE)
    # The next due time not handled yet; None while disabled.
    next_run_at = models.DateTimeField(null=True, blank=True)
    last_due_at = models.DateTimeField(null=True, blank=True)
    last_outcome = models.CharField(max_length=500, blank=True, default="")
    created_at = models.DateTimeField(default=now)
    updated_at = models.DateTimeField(default=now)
    created_by_label = models.CharField(max_length=200, blank=True, default="")

    objects = scoped_queryset(project_field="project").as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["enabled", "next_run_at"])]

    def __str__(self) -> str:
        return self.name or f"{self.cron} ({self.timezone})"


class ScheduleExecution(models.Model):
    """An execution that a schedule started, and the due time it started it for."""

    execution = models.OneToOneField(Execution, on_delete=models.CASCADE, primary_key=True,
                                     related_name="schedule_link")
    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="execution_links")
    due_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["schedule", "due_at"])]

    def __str__(self) -> str:
        return f"{self.schedule_id} at {self.due_at.isoformat()}"
