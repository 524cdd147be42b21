"""Approvals: requesting, deciding, expiring and cancelling them."""

from __future__ import annotations

from django.utils import timezone

from approvals.models import Approval, ApprovalStatus


def request_approval(ctx) -> Approval:
    """Create the Approval an approval task waits on (approvers are notified after commit)."""
    config = ctx.config
    approvers = config.get("approvers") or {}
    expires_in = config.get("expires_in")
    return Approval.objects.create(
        tenant_id=ctx.execution.tenant_id,
        execution=ctx.execution,
        task_run=ctx.task_run,
        title=str(config.get("title") or ctx.task_run.name),
        instructions=str(config.get("instructions") or ""),
        approver_roles=list(approvers.get("roles") or []),
        approver_emails=list(approvers.get("emails") or []) if not isinstance(approvers.get("emails"), str)
        else [e.strip() for e in approvers["emails"].split(",") if e.strip()],
        required_approvals=int(config.get("required_approvals") or 1),
        allow_self_approval=bool(config.get("allow_self_approval", False)),
        form=list(config.get("form") or []),
        require_comment=bool(config.get("require_comment", False)),
        on_reject=config.get("on_reject", "fail"),
        timeout_outcome=config.get("on_timeout", "reject"),
        expires_at=timezone.now() + timezone.timedelta(seconds=float(expires_in)) if expires_in else None,
    )


def cancel_pending_approvals(execution) -> int:
    return Approval.objects.filter(execution=execution, status=ApprovalStatus.PENDING).update(
        status=ApprovalStatus.CANCELLED, decided_at=timezone.now())


def expire_overdue_approvals(now) -> int:
    return 0
