"""Operators' view of executions: read-only rows, with cancel and retry as admin actions."""

import uuid

from django import forms
from django.contrib import admin, messages
from django.db.models import Q
from rest_framework.exceptions import APIException

from config.admin_views import LargeTableAdmin, ReadOnlyInline, adopt
from executions import retention, services
from executions.models import Execution, Log, RetentionRule, TaskRun
from workflows.registry import task_types


class RetentionRuleForm(forms.ModelForm):
    class Meta:
        model = RetentionRule
        fields = ["tenant", "workflow", "keep_days"]

    def clean(self):
        cleaned = super().clean()
        tenant, workflow = cleaned.get("tenant"), cleaned.get("workflow")
        if tenant is not None and workflow is not None and workflow.tenant_id != tenant.id:
            self.add_error("workflow", f"Pick a workflow of {tenant}.")
        return cleaned


class TaskRunInline(ReadOnlyInline):
    model = TaskRun
    fields = ["name", "task_type", "status", "attempts", "message", "started_at", "ended_at"]
    readonly_fields = fields
    show_change_link = True


class SearchByIdMixin:
    """A search term that is a UUID finds the row (or its execution) by primary key, through the index.

    Other terms go through ``search_fields`` as usual.
    """

    id_search_fields: tuple[str, ...] = ("pk",)

    def get_search_results(self, request, queryset, search_term):
        try:
            value = uuid.UUID(search_term.strip())
        except ValueError:
            return super().get_search_results(request, queryset, search_term)
        match = Q()
        for name in self.id_search_fields:
            match |= Q(**{name: value})
        return queryset.filter(match), False


@admin.register(Execution)
class ExecutionAdmin(SearchByIdMixin, LargeTableAdmin):
    """Rows change only through the engine and the actions below."""

    list_display = ["id", "workflow", "status", "started_by_label", "linked_account_id", "created_at", "ended_at"]
    list_filter = ["status", "tenant", "project", "created_at"]
    search_fields = ["linked_account_id__exact", "workflow__name", "workflow__alias"]
    list_select_related = ["workflow"]
    inlines = [TaskRunInline]
    actions = ["cancel_executions", "retry_executions"]
    change_form_template = "admin/executions/execution/change_form.html"

    def change_view(self, request, object_id, form_url="", extra_context=None):
        # An unfinished execution's page reloads itself when the live stream reports a change.
        execution = Execution.objects.filter(pk=object_id).only("id", "status").first()
        live = execution is not None and not execution.is_terminal
        extra = {"events_url": f"/api/v1/executions/{object_id}/events" if live else "",
                 "last_event_id": Log.objects.filter(execution_id=object_id).order_by("-id")
                 .values_list("id", flat=True).first() or 0 if live else 0}
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), **extra})

    @admin.action(description="Cancel the selected executions")
    def cancel_executions(self, request, queryset):
        self._apply(request, queryset, services.cancel_execution, "cancelled or marked for cancel")

    @admin.action(description="Retry the selected failed executions")
    def retry_executions(self, request, queryset):
        self._apply(request, queryset, services.retry_execution, "queued again")

    def _apply(self, request, queryset, service, verb):
        done, refused = 0, []
        for execution in queryset:
            try:
                service(execution, None)
                done += 1
            except APIException as exc:
                refused.append(f"{execution.id}: {exc.detail}")
        if done:
            self.message_user(request, f"{done} execution(s) {verb}.", messages.SUCCESS)
        for line in refused:
            self.message_user(request, line, messages.WARNING)


class TaskTypeFilter(admin.SimpleListFilter):
    """The registered task types (the registry's list, not a SELECT DISTINCT over every task run)."""

    title = "task type"
    parameter_name = "task_type"

    def lookups(self, request, model_admin):
        return [(name, name) for name in sorted(task_types())]

    def queryset(self, request, queryset):
        return queryset.filter(task_type=self.value()) if self.value() else queryset


@admin.register(TaskRun)
class TaskRunAdmin(SearchByIdMixin, LargeTableAdmin):
    list_display = ["name", "execution", "task_type", "status", "attempts", "started_at", "ended_at"]
    list_filter = ["status", TaskTypeFilter]
    list_select_related = ["execution"]
    search_fields = ["name"]
    id_search_fields = ("pk", "execution_id")
    # The model's order, then newest id first (index task_run_admin_order and its filtered twins).
    ordering = ["position", "name", "-id"]


@admin.register(Log)
class LogAdmin(SearchByIdMixin, LargeTableAdmin):
    list_display = ["timestamp", "level", "execution", "task_run", "message"]
    list_filter = ["level"]
    search_fields = ["message"]
    id_search_fields = ("uuid", "execution_id", "task_run_id")
    list_select_related = ["execution", "task_run"]
    # Newest first (index log_admin_order, read backwards).
    ordering = ["-timestamp", "-id"]


@admin.register(RetentionRule)
class RetentionRuleAdmin(admin.ModelAdmin):
    """How long each tenant (or one of its workflows) keeps finished executions; saved through the service."""

    form = RetentionRuleForm
    list_display = ["tenant", "workflow", "keep_days", "updated_at"]
    list_select_related = ["tenant", "workflow"]
    list_filter = ["tenant"]
    autocomplete_fields = ["workflow"]

    def get_readonly_fields(self, request, obj=None):
        return ["tenant", "workflow"] if obj is not None else []

    def save_model(self, request, obj, form, change):
        tenant = form.cleaned_data.get("tenant") or obj.tenant
        workflow = form.cleaned_data.get("workflow") if not change else obj.workflow
        adopt(obj, retention.set_retention(tenant, form.cleaned_data["keep_days"], workflow=workflow))

    def delete_model(self, request, obj):
        retention.clear_retention(obj.tenant, workflow=obj.workflow)

    def delete_queryset(self, request, queryset):
        for rule in queryset.select_related("tenant", "workflow"):
            retention.clear_retention(rule.tenant, workflow=rule.workflow)
