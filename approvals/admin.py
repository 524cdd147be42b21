"""Operators' read-only view of approvals; people decide in /approvals/ or over the API."""

from __future__ import annotations

import uuid

from django.contrib import admin
from django.db.models import Q
from django.urls import reverse
from django.utils.html import format_html

from approvals.models import Approval, ApprovalDecision, UsedApprovalLink
from approvals.services import ON_REJECT_CHOICES
from config.admin_views import LargeTableAdmin, ReadOnlyAdmin, ReadOnlyInline


class ApprovalDecisionInline(ReadOnlyInline):
    model = ApprovalDecision
    fields = ["decision", "label", "comment", "form_values", "created_at"]
    readonly_fields = fields


class OnRejectFilter(admin.SimpleListFilter):
    """The choices an approval task offers (not a SELECT DISTINCT over every approval)."""

    title = "on reject"
    parameter_name = "on_reject"

    def lookups(self, request, model_admin):
        return [(choice, choice) for choice in ON_REJECT_CHOICES]

    def queryset(self, request, queryset):
        return queryset.filter(on_reject=self.value()) if self.value() else queryset


@admin.register(Approval)
class ApprovalAdmin(LargeTableAdmin):
    list_display = ["title", "status", "tenant", "execution", "requested_at", "expires_at", "decided_by_label",
                    "decided_at", "page"]
    list_filter = ["status", "tenant", "timeout_outcome", OnRejectFilter]
    list_select_related = ["tenant", "execution"]
    search_fields = ["title", "decided_by_label"]
    # Newest first (index approval_requested).
    ordering = ["-requested_at", "-id"]
    inlines = [ApprovalDecisionInline]

    def get_search_results(self, request, queryset, search_term):
        # An approval's or its execution's id finds it through their indexes.
        try:
            value = uuid.UUID(search_term.strip())
        except ValueError:
            return super().get_search_results(request, queryset, search_term)
        return queryset.filter(Q(pk=value) | Q(execution_id=value)), False

    @admin.display(description="Approver page")
    def page(self, approval: Approval) -> str:
        return format_html('<a href="{}">open</a>', reverse("approvals:detail", kwargs={"approval_id": approval.pk}))


@admin.register(UsedApprovalLink)
class UsedApprovalLinkAdmin(ReadOnlyAdmin):
    list_display = ["nonce", "approval", "user", "used_at"]
    list_select_related = ["approval", "user"]
    search_fields = ["approval__id", "user__username"]
