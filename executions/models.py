"""Executions, their task runs and logs."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from accounts.models import ApiKey, Project, Tenant, scoped_queryset


class ExecutionStatus(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    WAITING = "waiting"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


TERMINAL_STATUSES = frozenset({ExecutionStatus.SUCCEEDED, ExecutionStatus.FAILED, ExecutionStatus.CANCELLED})

# The only moves an execution may make; services refuse every other one.
EXECUTION_TRANSITIONS: dict[str, frozenset[str]] = {
    ExecutionStatus.QUEUED: frozenset({ExecutionStatus.RUNNING, ExecutionStatus.CANCELLED}),
    ExecutionStatus.RUNNING: frozenset({ExecutionStatus.WAITING, ExecutionStatus.SUCCEEDED,
                                        ExecutionStatus.FAILED, ExecutionStatus.CANCELLED}),
    ExecutionStatus.WAITING: frozenset({ExecutionStatus.RUNNING, ExecutionStatus.CANCELLED}),
    # A failed execution may be retried: it goes back to the queue on the same row.
    ExecutionStatus.FAILED: frozenset({ExecutionStatus.QUEUED}),
    ExecutionStatus.SUCCEEDED: frozenset(),
    ExecutionStatus.CANCELLED: frozenset(),
}


class RetryPolicy(models.TextChoices):
    """How an execution's failed tasks are retried; set by the surface that starts it."""

    AS_DEFINED = "as_defined", "Each task retries as its definition says"
    # A caller waiting for the answer (Refold's sync_execution) does not wait for optional tasks.
    REQUIRED_ONLY = "required_only", "Tasks marked skip_on_error fail at once, without retries"


class TaskRunStatus(models.TextChoices):
    PENDING = "pending"
    RUNNING = "running"
    WAITING = "waiting"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"


TASK_TERMINAL_STATUSES = frozenset({TaskRunStatus.SUCCEEDED, TaskRunStatus.FAILED,
                                    TaskRunStatus.SKIPPED, TaskRunStatus.CANCELLED})

TASK_TRANSITIONS: dict[str, frozenset[str]] = {
    TaskRunStatus.PENDING: frozenset({TaskRunStatus.RUNNING, TaskRunStatus.SKIPPED, TaskRunStatus.CANCELLED}),
    TaskRunStatus.RUNNING: frozenset({TaskRunStatus.SUCCEEDED, TaskRunStatus.FAILED, TaskRunStatus.WAITING,
                                      TaskRunStatus.PENDING, TaskRunStatus.CANCELLED}),
    TaskRunStatus.WAITING: frozenset({TaskRunStatus.SUCCEEDED, TaskRunStatus.FAILED, TaskRunStatus.CANCELLED}),
    # Retrying an execution re-runs its failed, skipped and cancelled tasks.
    TaskRunStatus.FAILED: frozenset({TaskRunStatus.PENDING}),
    TaskRunStatus.SKIPPED: frozenset({TaskRunStatus.PENDING}),
    TaskRunStatus.CANCELLED: frozenset({TaskRunStatus.PENDING}),
    TaskRunStatus.SUCCEEDED: frozenset(),
}


class Execution(models.Model):
    """One run of one workflow version (or of a definition of its own, such as an action's steps).

    Features link their own rows to executions (records' actions and records, Port flow runs);
    the execution itself names nothing above the engine.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="executions")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="executions")
    workflow = models.ForeignKey("workflows.Workflow", on_delete=models.CASCADE, null=True, blank=True, related_name="executions")
    workflow_version = models.ForeignKey("workflows.WorkflowVersion", on_delete=models.PROTECT, null=True, blank=True, related_name="executions")
    # The definition the engine runs when it is not a stored version (an action's steps).
    definition = models.JSONField(null=True, blank=True)
    parent = models.ForeignKey("self", on_delete=models.CASCADE, null=True, blank=True, related_name="children")
    parent_task_run = models.ForeignKey("executions.TaskRun", on_delete=models.SET_NULL, null=True, blank=True, related_name="child_executions")

    status = models.CharField(max_length=20, choices=ExecutionStatus.choices, default=ExecutionStatus.QUEUED, db_index=True)
    input = models.JSONField(default=dict, blank=True)
    return_value = models.JSONField(null=True, blank=True)
    errors = models.JSONField(default=list, blank=True)
    tags = models.JSONField(default=dict, blank=True)
    linked_account_id = models.CharField(max_length=200, blank=True, default="", db_index=True)
    retry_policy = models.CharField(max_length=20, choices=RetryPolicy.choices, default=RetryPolicy.AS_DEFINED)
    attempt = models.PositiveIntegerField(default=1, help_text="Incremented by each retry of the execution.")
    cancel_requested = models.BooleanField(default=False)

    started_by_user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    started_by_key = models.ForeignKey(ApiKey, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    started_by_label = models.CharField(max_length=200, blank=True, default="")
    performed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    # The id of what started it, set by the feature that did (a schedule's): its executions are
    # listed and counted through an index of their own, like a workflow's.
    origin_id = models.UUIDField(null=True, blank=True, editable=False)

    idempotency_key = models.CharField(max_length=200, null=True, blank=True)  # noqa: DJ001 (NULL: no key; unique when set)
    request_fingerprint = models.CharField(max_length=64, blank=True, default="")

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)
    # When the last Celery message for this execution was sent; the sweeper re-sends stale ones.
    enqueued_at = models.DateTimeField(null=True, blank=True)

    objects = scoped_queryset(project_field="project").as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "idempotency_key"], name="execution_idempotency_key_unique",
                                    condition=models.Q(idempotency_key__isnull=False)),
        ]
        indexes = [
            models.Index(fields=["tenant", "-created_at"]),
            models.Index(fields=["workflow", "-created_at"]),
            models.Index(fields=["status", "enqueued_at"]),
            # The native list's status and workflow filters (their pages and capped counts), FlowSynx's
            # list of a workflow's executions and the retention purge of one workflow's executions.
            models.Index(fields=["tenant", "status", "-created_at", "-id"], name="execution_tenant_status"),
            models.Index(fields=["tenant", "workflow", "-created_at", "-id"], name="execution_tenant_workflow"),
            # The native list's schedule, started_by and tag filters.
            models.Index(fields=["tenant", "origin_id", "-created_at", "-id"], name="execution_tenant_origin",
                         condition=models.Q(origin_id__isnull=False)),
            models.Index(fields=["tenant", "started_by_label", "-created_at", "-id"], name="execution_tenant_starter"),
            # (and, on PostgreSQL only, a GIN index of the tags: migration 0010)
        ]

    def __str__(self) -> str:
        return f"{self.id} ({self.status})"

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES

    def get_definition(self) -> dict:
        if self.definition is not None:
            return self.definition
        return self.workflow_version.definition if self.workflow_version_id else {"tasks": []}


class TaskRun(models.Model):
    """One task's record inside one execution."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    execution = models.ForeignKey(Execution, on_delete=models.CASCADE, related_name="task_runs")
    name = models.CharField(max_length=200)
    task_type = models.CharField(max_length=50)
    position = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=20, choices=TaskRunStatus.choices, default=TaskRunStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    output = models.JSONField(null=True, blank=True)
    message = models.TextField(blank=True, default="")
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    # Set when a run message is sent; cleared once a worker claims the task.
    dispatched_at = models.DateTimeField(null=True, blank=True)
    # A retry (with backoff) or a delay may not start before this time.
    not_before = models.DateTimeField(null=True, blank=True)
    # The claiming worker renews this while it runs the task; expiry means the worker died.
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    wake_at = models.DateTimeField(null=True, blank=True, help_text="When a parked delay task resumes.")

    objects = scoped_queryset("execution__tenant", "execution__project").as_manager()

    class Meta:
        ordering = ["position", "name"]
        constraints = [models.UniqueConstraint(fields=["execution", "name"], name="task_run_name_unique")]
        indexes = [
            models.Index(fields=["status", "lease_expires_at"]),
            models.Index(fields=["status", "wake_at"]),
            # The admin's list of all task runs (in this ordering, then newest id first), alone and
            # filtered by type or status.
            models.Index(fields=["position", "name", "-id"], name="task_run_admin_order"),
            models.Index(fields=["task_type", "position", "name", "-id"], name="task_run_admin_type"),
            models.Index(fields=["status", "position", "name", "-id"], name="task_run_admin_status"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.status})"


class LogLevel(models.TextChoices):
    DEBUG = "debug"
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


class Log(models.Model):
    """A levelled line on an execution, optionally on one of its task runs."""

    id = models.BigAutoField(primary_key=True)
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    execution = models.ForeignKey(Execution, on_delete=models.CASCADE, related_name="logs")
    task_run = models.ForeignKey(TaskRun, on_delete=models.CASCADE, null=True, blank=True, related_name="logs")
    level = models.CharField(max_length=10, choices=LogLevel.choices, default=LogLevel.INFO)
    message = models.TextField()
    exception = models.TextField(null=True, blank=True)  # noqa: DJ001 (FlowSynx shows null, not "")
    timestamp = models.DateTimeField(default=timezone.now)
    # The status change the line reports ("task.succeeded", "execution.waiting"), or "": live streams
    # read status changes and log lines from one ordered source.
    event = models.CharField(max_length=40, blank=True, default="")

    objects = scoped_queryset("execution__tenant", "execution__project").as_manager()

    class Meta:
        ordering = ["timestamp", "id"]
        indexes = [
            models.Index(fields=["execution", "timestamp", "id"]),
            # The admin's list of all logs, newest first, alone and filtered by level.
            models.Index(fields=["timestamp", "id"], name="log_admin_order"),
            models.Index(fields=["level", "timestamp", "id"], name="log_admin_level"),
        ]

    def __str__(self) -> str:
        return f"[{self.level}] {self.message[:60]}"


class RetentionRule(models.Model):
    """How long a tenant keeps its finished executions; a rule with a workflow overrides it for that workflow.

    A finished execution (succeeded, failed or cancelled) is purged with its task runs, logs and
    approvals once it ended ``keep_days`` ago; the tenant's rule also applies to its Port flow
    runs. Without a rule ``FLOWGATE_RETENTION_DAYS`` applies (0: keep forever). Written through
    ``executions.retention.set_retention``.
    """

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="retention_rules")
    workflow = models.ForeignKey("workflows.Workflow", on_delete=models.CASCADE, null=True, blank=True,
                                 related_name="retention_rules",
                                 help_text="Empty: the rule of the whole tenant (and its Port flow runs).")
    keep_days = models.PositiveIntegerField(null=True, blank=True,
                                            help_text="Days a finished execution is kept after it ended; "
                                                      "empty keeps them forever.")
    updated_at = models.DateTimeField(default=timezone.now)

    objects = scoped_queryset().as_manager()

    class Meta:
        ordering = ["tenant", "workflow"]
        constraints = [
            models.UniqueConstraint(fields=["tenant"], condition=models.Q(workflow__isnull=True),
                                    name="one_retention_rule_per_tenant"),
            models.UniqueConstraint(fields=["tenant", "workflow"], condition=models.Q(workflow__isnull=False),
                                    name="one_retention_rule_per_workflow"),
        ]

    def __str__(self) -> str:
        days = "forever" if self.keep_days is None else f"{self.keep_days} days"
        return f"{self.tenant} {self.workflow or '(all workflows)'}: {days}"
