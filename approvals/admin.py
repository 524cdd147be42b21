"""Operators' read-only view of approvals; people decide in /approvals/ or over the API."""

from __future__ import annotations

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from approvals.models import Approval, ApprovalDecision, UsedApprovalLink
from config.admin_views import ReadOnlyAdmin, ReadOnlyInline


class ApprovalDecisionInline(ReadOnlyInline):
    model = ApprovalDecision
    fields = ["decision", "label", "comment", "form_values", "created_at"]
    readonly_fields = fields


@admin.register(Approval)
class ApprovalAdmin(ReadOnlyAdmin):
    list_display = ["title", "status", "tenant", "execution", "requested_at", "expires_at", "decided_by_label",
                    "decided_at", "page"]
    list_filter = ["status", "tenant", "timeout_outcome", "on_reject"]
    list_select_related = ["tenant", "execution"]
    search_fields = ["id", "title", "execution__id", "decided_by_label"]
    date_hierarchy = "requested_at"
    inlines = [ApprovalDecisionInline]

    @admin.display(description="Approver page")
    def page(self, approval: Approval) -> str:
        return format_html('<a href="{}">open</a>', reverse("approvals:detail", kwargs={"approval_id": approval.pk}))


@admin.register(UsedApprovalLink)
class UsedApprovalLinkAdmin(ReadOnlyAdmin):
    list_display = ["nonce", "approval", "user", "used_at"]
    list_select_related = ["approval", "user"]
    search_fields = ["approval__id", "user__username"]
