"""Flow runs in the admin: to find and read runs, and to delete them (through the service)."""

from __future__ import annotations

from django.contrib import admin

from config.admin_views import LargeTableAdmin
from flowruns import services
from flowruns.models import FlowRun


class PhaseFilter(admin.SimpleListFilter):
    title = "phase"
    parameter_name = "phase"

    def lookups(self, request, model_admin):
        return [(phase, phase) for phase in services.Phase.ALL]

    def queryset(self, request, queryset):
        return queryset.filter(phase=self.value()) if self.value() else queryset


@admin.register(FlowRun)
class FlowRunAdmin(LargeTableAdmin):
    """Read-only: runs are written by their reporters (the Port API) and by executions."""

    list_display = ("run_id", "flow_id", "flow_type", "phase", "tenant", "created_at", "updated_at")
    list_filter = ("flow_type", PhaseFilter, "tenant", "created_at")
    search_fields = ("run_id", "flow_id")
    list_select_related = ("tenant",)
    # Newest first (index flow_run_created).
    ordering = ("-created_at", "-id")

    def delete_model(self, request, obj) -> None:
        services.delete_flow_run(obj)

    def delete_queryset(self, request, queryset) -> None:
        for run in queryset:
            services.delete_flow_run(run)
