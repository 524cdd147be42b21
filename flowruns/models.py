"""Port-style flow runs: run records that outside runners, or executions, report."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from accounts.models import Project, Tenant, scoped_queryset
from executions.models import Execution


class FlowType(models.TextChoices):
    AUTOMATION = "automation"
    SELF_SERVICE_ACTION = "selfServiceAction"
    SCORECARD = "scorecard"
    REFERENCE = "reference"


class FlowRun(models.Model):
    """A flow run. ``run_id`` is the public id (``^([a-z0-9_.-]+)$``), unique in its tenant."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="flow_runs")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, null=True, blank=True, related_name="flow_runs",
                                help_text="Set when written with a project-bound key, which sees only its project's runs.")
    run_id = models.CharField(max_length=200)
    flow_id = models.CharField(max_length=200, db_index=True)
    flow_type = models.CharField(max_length=40, choices=FlowType.choices, default=FlowType.AUTOMATION)
    args = models.JSONField(null=True, blank=True)
    phase = models.JSONField(null=True, blank=True)
    start_time = models.DateTimeField(null=True, blank=True)
    end_time = models.DateTimeField(null=True, blank=True)
    actions = models.JSONField(default=list, blank=True)
    outputs = models.JSONField(null=True, blank=True)
    logs = models.JSONField(default=list, blank=True)
    tags = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    # "user:<id>", "apikey:<owner id>:<name>", or NULL for Flowgate itself (flowruns.services.actor_for).
    created_by = models.CharField(max_length=200, null=True, blank=True)  # noqa: DJ001 (NULL: no caller)
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = models.CharField(max_length=200, null=True, blank=True)  # noqa: DJ001
    reviewed_by = models.CharField(max_length=200, null=True, blank=True)  # noqa: DJ001
    reviewed_at = models.DateTimeField(null=True, blank=True)

    objects = scoped_queryset(project_field="project").as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["tenant", "run_id"], name="flow_run_id_unique_in_tenant")]
        indexes = [
            models.Index(fields=["tenant", "-created_at", "-id"]),
            # Port's flowId and phase filters (their pages and exact totals), the admin's list of all runs and
            # its phase filter.
            models.Index(fields=["tenant", "flow_id", "-created_at", "-id"], name="flow_run_tenant_flow"),
            models.Index(fields=["tenant", "phase", "-created_at", "-id"], name="flow_run_tenant_phase"),
            models.Index(fields=["-created_at", "-id"], name="flow_run_created"),
            models.Index(fields=["phase", "-created_at", "-id"], name="flow_run_phase"),
        ]

    def __str__(self) -> str:
        return self.run_id


class FlowRunCount(models.Model):
    """How many flow runs a tenant has in each phase: rows per project (and for runs of no project).

    ``flowruns.services`` changes it in the transaction that adds or removes a run, so Port's
    exact ``total`` of an unfiltered list sums a row or two instead of counting every run; the
    retention purge recounts it once a day (``recount_flow_runs``), which also heals what writes
    from outside the services (an older version during an upgrade) left behind.
    """

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    # The runs' phase word ("" for runs without a phase).
    phase = models.CharField(max_length=40, blank=True, default="")
    count = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "phase"], condition=models.Q(project__isnull=True),
                                    name="one_flow_run_count_per_tenant"),
            models.UniqueConstraint(fields=["tenant", "project", "phase"], condition=models.Q(project__isnull=False),
                                    name="one_flow_run_count_per_project"),
        ]

    def __str__(self) -> str:
        return f"{self.tenant_id}/{self.project_id}/{self.phase}: {self.count}"


class FlowRunTag(models.Model):
    """One ``key:value`` tag of a flow run, kept beside ``FlowRun.tags`` so the list can filter on it.

    ``FlowRun.tags`` stays the source of what the API shows (in the caller's order); these rows are
    an index that ``flowruns.services`` rewrites whenever it writes the tags.
    """

    flow_run = models.ForeignKey(FlowRun, on_delete=models.CASCADE, related_name="tag_rows")
    key = models.CharField(max_length=200)
    value = models.CharField(max_length=500)

    class Meta:
        indexes = [models.Index(fields=["key", "value"])]

    def __str__(self) -> str:
        return f"{self.key}:{self.value}"


class FlowRunExecution(models.Model):
    """An execution that reports to a flow run: its status, task runs and logs are mirrored onto it."""

    execution = models.OneToOneField(Execution, on_delete=models.CASCADE, primary_key=True,
                                     related_name="flow_run_link")
    flow_run = models.ForeignKey(FlowRun, on_delete=models.CASCADE, related_name="execution_links")

    def __str__(self) -> str:
        return f"{self.execution_id} -> {self.flow_run_id}"
