"""What the operators' execution page lists of an execution's approvals (``executions.plugins``)."""

from __future__ import annotations

from django.urls import reverse

from approvals.models import Approval
from executions.models import Execution
from executions.plugins import PageLink


def execution_page_links(execution: Execution) -> list[PageLink]:
    """The execution's approvals, oldest first, each with its approvers' page and its admin row (one query)."""
    return [PageLink(title=approval.title or "Approval", status=approval.status,
                     url=reverse("approvals:detail", args=[approval.pk]),
                     admin_url=reverse("admin:approvals_approval_change", args=[approval.pk]))
            for approval in Approval.objects.filter(execution=execution).only("id", "title", "status", "requested_at")
            .order_by("requested_at")]
