"""Telling the approvers: who is emailed about a pending approval, and the email itself."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.core.mail import get_connection
from django.db.models import Q
from django.utils import timezone

from accounts.caller import Caller
from accounts.models import DECIDER_ROLES, Membership
from approvals.emails import approval_requested_messages
from approvals.models import Approval, ApprovalStatus
from approvals.services.decisions import caller_email, is_named_approver, started_execution
from executions.engine import LogBuffer
from executions.models import LogLevel

logger = logging.getLogger("flowgate.approvals")


@dataclass(frozen=True)
class Recipient:
    email: str
    user: Any = None  # the approver's user, when the address belongs to a member


def approval_recipients(approval: Approval) -> list[Recipient]:
    """Everyone named on the approval who may decide it, one entry per email address.

    Members come first (they may use signed links); then listed addresses of people without an
    account, who are told to ask for one. Four-eyes: the execution's starter is left out.
    """
    members = (Membership.objects.filter(tenant_id=approval.tenant_id, role__in=DECIDER_ROLES, user__is_active=True)
               .select_related("user", "tenant").order_by("user__username"))
    recipients: dict[str, Recipient] = {}
    for membership in members:
        caller = Caller(tenant=membership.tenant, role=membership.role, user=membership.user)
        email = caller_email(caller)
        if not email or not is_named_approver(approval, caller):
            continue
        if approval.allow_self_approval or not started_execution(approval.execution, caller):
            recipients.setdefault(email, Recipient(email, membership.user))
    known = _account_emails(approval.approver_emails)
    for email in approval.approver_emails:
        if email not in recipients and email not in known:
            recipients[email] = Recipient(email)
    return list(recipients.values())


def _account_emails(emails: list[str]) -> set[str]:
    """Which of these (lowercased) addresses belong to an account, whatever the case it was stored in."""
    if not emails:
        return set()
    match = Q()
    for email in emails:
        match |= Q(email__iexact=email)
    return {email.lower() for email in get_user_model().objects.filter(match).values_list("email", flat=True)}


def notify_approvers(approval_id) -> int:
    """Email the approvers of a pending approval, once; answers how many emails were sent.

    Runs from a Celery message sent after the approval's commit, outside any transaction.
    """
    now = timezone.now()
    if not Approval.objects.filter(pk=approval_id, status=ApprovalStatus.PENDING, notified_at__isnull=True).update(
            notified_at=now):
        return 0
    approval = Approval.objects.select_related("execution", "execution__workflow", "task_run").get(pk=approval_id)
    recipients = approval_recipients(approval)
    logs = LogBuffer(approval.execution_id, approval.task_run_id)
    if not recipients:
        logs.add(LogLevel.WARNING, f"Approval {approval.title!r}: nobody with an email address can decide it; "
                                   "approvers find it in their inbox at /approvals/.")
        logs.flush()
        return 0
    try:
        sent = get_connection(fail_silently=False).send_messages(approval_requested_messages(approval, recipients)) or 0
    except Exception as exc:
        logger.exception("could not email the approvers of approval %s", approval_id)
        logs.add(LogLevel.WARNING, f"Could not email the approvers of {approval.title!r} ({exc.__class__.__name__}: "
                                   f"{exc}); they find it in their inbox at /approvals/.")
        logs.flush()
        return 0
    logs.add(LogLevel.INFO, f"Emailed {sent} approver(s) about approval {approval.title!r}.")
    logs.flush()
    return sent
