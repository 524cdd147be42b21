"""What the retention archive keeps of approvals: each execution's approvals with their votes."""

from __future__ import annotations

from typing import Any

from approvals.models import Approval, ApprovalDecision


def approvals_of(execution_ids: list) -> dict[Any, list[dict]]:
    """``{execution_id: [approval rows, each with its "decisions"]}``: an archive section (``executions.plugins``)."""
    decisions: dict[Any, list[dict]] = {}
    for vote in ApprovalDecision.objects.filter(approval__execution_id__in=execution_ids).order_by(
            "created_at", "id").values():
        decisions.setdefault(vote["approval_id"], []).append(vote)
    found: dict[Any, list[dict]] = {}
    for approval in Approval.objects.filter(execution_id__in=execution_ids).order_by("requested_at", "id").values():
        approval["decisions"] = decisions.get(approval["id"], [])
        found.setdefault(approval["execution_id"], []).append(approval)
    return found
