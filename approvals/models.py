"""Approvals: human decisions that executions wait on."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from accounts.models import ApiKey, Tenant, scoped_queryset


class ApprovalStatus(models.TextChoices):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


class TimeoutOutcome(models.TextChoices):
    REJECT = "reject"
    APPROVE = "approve"
    FAIL = "fail"


class Approval(models.Model):
    """One pending human decision, created by an approval task."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="approvals")
    execution = models.ForeignKey("executions.Execution", on_delete=models.CASCADE, related_name="approvals")
    task_run = models.ForeignKey("executions.TaskRun", on_delete=models.CASCADE, related_name="approvals")
    status = models.CharField(max_length=20, choices=ApprovalStatus.choices, default=ApprovalStatus.PENDING, db_index=True)
    title = models.CharField(max_length=300, blank=True, default="")
    instructions = models.TextField(blank=True, default="")
    # Who may decide: any user listed, any member holding one of the roles, any user with one of the emails.
    # Usernames are resolved to ids when the approval is requested; the names are kept for display.
    approver_usernames = models.JSONField(default=list, blank=True)
    approver_user_ids = models.JSONField(default=list, blank=True)
    approver_roles = models.JSONField(default=list, blank=True)
    approver_emails = models.JSONField(default=list, blank=True)
    required_approvals = models.PositiveIntegerField(default=1)
    approvals_count = models.PositiveIntegerField(default=0)
    allow_self_approval = models.BooleanField(default=False)
    form = models.JSONField(default=list, blank=True, help_text='[{"name", "type", "required", "label"}]')
    require_comment = models.BooleanField(default=False)
    on_reject = models.CharField(max_length=20, default="fail", help_text="fail, or continue (a condition task routes it).")
    timeout_outcome = models.CharField(max_length=20, choices=TimeoutOutcome.choices, default=TimeoutOutcome.REJECT)
    expires_at = models.DateTimeField(null=True, blank=True)
    # Set once the approvers have been emailed, so a duplicate message sends nothing twice.
    notified_at = models.DateTimeField(null=True, blank=True)

    # Who started the execution, copied when the approval is requested: the four-eyes rule of the
    # approvals lists is then a test of these columns, not a look-up of every approval's execution.
    execution_started_by_user_id = models.IntegerField(null=True, blank=True, editable=False)
    execution_started_by_key_id = models.UUIDField(null=True, blank=True, editable=False)

    requested_at = models.DateTimeField(default=timezone.now)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    decided_by_key = models.ForeignKey(ApiKey, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    decided_by_label = models.CharField(max_length=200, blank=True, default="")
    comment = models.TextField(blank=True, default="")
    form_values = models.JSONField(default=dict, blank=True)

    objects = scoped_queryset(project_field="execution__project").as_manager()

    class Meta:
        ordering = ["-requested_at", "-id"]
        indexes = [
            models.Index(fields=["status", "expires_at"]),
            models.Index(fields=["tenant", "status", "-requested_at"]),
            # The native list and the inbox, newest first, and the admin's list of all approvals.
            models.Index(fields=["tenant", "-requested_at", "-id"], name="approval_tenant_requested"),
            models.Index(fields=["-requested_at", "-id"], name="approval_requested"),
        ]

    def __str__(self) -> str:
        return f"{self.title or self.task_run_id} ({self.status})"

    @property
    def is_pending(self) -> bool:
        return self.status == ApprovalStatus.PENDING

    @property
    def approvals_needed(self) -> int:
        """Approving votes still missing before the approval is approved."""
        return max(self.required_approvals - self.approvals_count, 0)


class Decision(models.TextChoices):
    APPROVE = "approve"
    REJECT = "reject"


class ApprovalDecision(models.Model):
    """One approver's vote; an n-of-m approval is approved when n approve, rejected by any reject."""

    approval = models.ForeignKey(Approval, on_delete=models.CASCADE, related_name="decisions")
    decision = models.CharField(max_length=10, choices=Decision.choices)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    api_key = models.ForeignKey(ApiKey, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    label = models.CharField(max_length=200)
    comment = models.TextField(blank=True, default="")
    form_values = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = scoped_queryset("approval__tenant", "approval__execution__project").as_manager()

    class Meta:
        ordering = ["created_at", "id"]
        # One vote per person and per key: n-of-m counts distinct approvers.
        constraints = [
            models.UniqueConstraint(fields=["approval", "user"], name="one_vote_per_user",
                                    condition=models.Q(user__isnull=False)),
            models.UniqueConstraint(fields=["approval", "api_key"], name="one_vote_per_key",
                                    condition=models.Q(api_key__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"{self.label} {self.decision}d {self.approval_id}"


class UsedApprovalLink(models.Model):
    """A signed approval link that has been used; each link decides at most once."""

    nonce = models.CharField(max_length=64, unique=True)
    approval = models.ForeignKey(Approval, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    used_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"link {self.nonce[:8]}… for {self.approval_id}"
