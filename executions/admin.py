"""Operators' view of executions: read-only rows, with cancel and retry as admin actions."""

import uuid

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.text import Truncator
from django.views.decorators.http import require_POST
from rest_framework.exceptions import APIException

from accounts.caller import actor_words
from config.admin_views import LargeTableAdmin, adopt, error_messages
from executions import retention, services, views
from executions.models import Execution, Log, RetentionRule, TaskRun
from executions.views import human_duration
from workflows.graph import STATUS_COLOURS
from workflows.models import Workflow
from workflows.registry import task_types

# Characters of an execution's errors shown in its row (the whole text is in the cell's title).
ERROR_CHARS = 80


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


def seconds(value) -> str:
    """A time to the second, in the site's time zone ("2026-11-30 11:42:07")."""
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S") if value else "-"


def status_badge(status: str) -> str:
    # The graph's colours; "queued" (an execution's status, not a task's) looks like "pending".
    fill, stroke, ink = STATUS_COLOURS.get(status, STATUS_COLOURS["pending"])
    return format_html('<span class="fg-badge" style="background:{};border:1px solid {};color:{}">{}</span>',
                       fill, stroke, ink, status)


class ByIdFilter(admin.SimpleListFilter):
    """A filter whose value is the id of a row ``field`` points at; a value that is no id answers
    the admin's "invalid lookup" page instead of a database error."""

    field = ""

    def lookups(self, request, model_admin):
        """The chosen id alone (a page links here with it): the column's values are never listed."""
        value = self.value()
        return [(value, f"{value[:8]} (clear it below)")] if value else []

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        try:
            return queryset.filter(**{self.field: uuid.UUID(self.value())})
        except ValueError:
            raise IncorrectLookupParameters(f"{self.parameter_name}={self.value()!r} is not the id of "
                                            f"any {self.title}.") from None


class WorkflowFilter(ByIdFilter):
    """The workflows, read from the workflows table (never a SELECT DISTINCT over executions)."""

    title = "workflow"
    parameter_name = "workflow"
    field = "workflow_id"
    # More workflows than fit in the sidebar are reached through the search ("workflow name").
    LIMIT = 50

    def lookups(self, request, model_admin):
        return [(str(pk), name) for pk, name in
                Workflow.objects.order_by("name").values_list("pk", "name")[: self.LIMIT]]


class OriginFilter(ByIdFilter):
    """``?schedule=<id>``: the executions a schedule started (``origin_id``; the schedule's page links here)."""

    title = "schedule"
    parameter_name = "schedule"
    field = "origin_id"


@admin.register(Execution)
class ExecutionAdmin(SearchByIdMixin, LargeTableAdmin):
    """Rows change only through the engine and the services the page and the actions below call."""

    list_display = ["short_id", "workflow", "status_badge", "error", "started", "duration", "started_by"]
    list_display_links = ["short_id"]
    list_filter = ["status", WorkflowFilter, "tenant", "created_at", OriginFilter]
    search_fields = ["linked_account_id__exact", "workflow__name", "workflow__alias"]
    list_select_related = ["workflow"]
    actions = ["cancel_executions", "retry_executions"]

    class Media:
        css = {"all": ["flowgate-console.css"]}

    @admin.display(description="id")
    def short_id(self, execution: Execution) -> str:
        return format_html('<span class="fg-mono" title="{}">{}</span>', execution.id, str(execution.id)[:8])

    @admin.display(description="status", ordering="status")
    def status_badge(self, execution: Execution) -> str:
        return status_badge(execution.status)

    @admin.display(description="error")
    def error(self, execution: Execution) -> str:
        text = "; ".join(str(e) for e in execution.errors or [])
        if not text:
            return "-"
        return format_html('<span title="{}">{}</span>', text, Truncator(text).chars(ERROR_CHARS))

    @admin.display(description="started", ordering="started_at")
    def started(self, execution: Execution) -> str:
        return seconds(execution.started_at)

    @admin.display(description="started by", ordering="started_by_label")
    def started_by(self, execution: Execution) -> str:
        return actor_words(execution.started_by_label)

    @admin.display(description="duration")
    def duration(self, execution: Execution) -> str:
        if execution.started_at is None:
            return "-"
        if execution.ended_at is None:
            return human_duration(timezone.now() - execution.started_at) + " so far"
        return human_duration(execution.ended_at - execution.started_at)

    def has_operate_permission(self, request) -> bool:
        """Cancelling and retrying executions (the page's buttons and the list's actions): the
        model's change permission, which the read-only rows otherwise never use."""
        return request.user.has_perm("executions.change_execution")

    def get_urls(self):
        def wrap(view, post_only=False):
            def run(request, object_id):
                allowed = self.has_operate_permission(request) if post_only else self.has_view_permission(request)
                if not allowed:
                    raise PermissionDenied
                return view(self, request, object_id)
            return self.admin_site.admin_view(require_POST(run) if post_only else run)

        info = "executions_execution"
        return [
            path("<uuid:object_id>/live/", wrap(views.execution_live), name=f"{info}_live"),
            # An async view, outside admin_view's sync wrapper: it checks the operator itself.
            path("<uuid:object_id>/events/", views.execution_events, name=f"{info}_events"),
            path("<uuid:object_id>/cancel/", wrap(views.cancel, True), name=f"{info}_cancel"),
            path("<uuid:object_id>/retry/", wrap(views.retry, True), name=f"{info}_retry"),
            path("<uuid:object_id>/retry-from/", wrap(views.retry_from, True), name=f"{info}_retry_from"),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        # The operators' page: graph, timeline, logs, outputs and controls (executions.views).
        if request.method != "GET" or not self.has_view_permission(request):
            return super().change_view(request, object_id, form_url, extra_context)
        try:
            uuid.UUID(str(object_id))
        except ValueError:
            return super().change_view(request, object_id, form_url, extra_context)
        return views.execution_page(self, request, object_id)

    @admin.action(description="Cancel the selected executions", permissions=["operate"])
    def cancel_executions(self, request, queryset):
        self._apply(request, queryset, services.cancel_execution, "cancelled or marked for cancel")

    @admin.action(description="Retry the selected failed executions", permissions=["operate"])
    def retry_executions(self, request, queryset):
        self._apply(request, queryset, services.retry_execution, "queued again")

    def _apply(self, request, queryset, service, verb):
        done, refused = 0, []
        for execution in queryset.select_related("tenant"):
            try:
                service(execution, views.operator_caller(request, execution))
                done += 1
            except APIException as exc:
                refused.append(f"{execution.id}: {'; '.join(error_messages(exc))}")
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


class ExecutionLogFilter(ByIdFilter):
    """``?execution=<id>``: one execution's lines (the execution page links here)."""

    title = "execution"
    parameter_name = "execution"
    field = "execution_id"


@admin.register(Log)
class LogAdmin(SearchByIdMixin, LargeTableAdmin):
    list_display = ["time", "level", "execution_link", "task_run", "message"]
    list_filter = ["level", ExecutionLogFilter]
    search_fields = ["message"]
    id_search_fields = ("uuid", "execution_id", "task_run_id")
    list_select_related = ["task_run"]
    # Newest first (index log_admin_order, read backwards).
    ordering = ["-timestamp", "-id"]

    class Media:
        css = {"all": ["flowgate-console.css"]}

    @admin.display(description="time", ordering="timestamp")
    def time(self, log: Log) -> str:
        millis = f"{log.timestamp.microsecond // 1000:03d}"
        return format_html('<span class="fg-mono">{}.{}</span>', seconds(log.timestamp), millis)

    @admin.display(description="execution")
    def execution_link(self, log: Log) -> str:
        return format_html('<a class="fg-mono" href="{}" title="{}">{}</a>',
                           reverse("admin:executions_execution_change", args=[log.execution_id]),
                           log.execution_id, str(log.execution_id)[:8])


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
