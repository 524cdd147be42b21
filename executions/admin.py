"""Operators' view of executions: read-only rows, with cancel and retry as admin actions."""

from django.contrib import admin, messages
from rest_framework.exceptions import APIException

from config.admin_views import ReadOnlyAdmin, ReadOnlyInline
from executions import services
from executions.models import Execution, Log, TaskRun


class TaskRunInline(ReadOnlyInline):
    model = TaskRun
    fields = ["name", "task_type", "status", "attempts", "message", "started_at", "ended_at"]
    readonly_fields = fields
    show_change_link = True


@admin.register(Execution)
class ExecutionAdmin(ReadOnlyAdmin):
    """Rows change only through the engine and the actions below."""

    list_display = ["id", "workflow", "status", "started_by_label", "linked_account_id", "created_at", "ended_at"]
    list_filter = ["status", "tenant", "project", "created_at"]
    search_fields = ["id", "workflow__name", "workflow__alias", "linked_account_id", "started_by_label"]
    list_select_related = ["workflow"]
    date_hierarchy = "created_at"
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


@admin.register(TaskRun)
class TaskRunAdmin(ReadOnlyAdmin):
    list_display = ["name", "execution", "task_type", "status", "attempts", "started_at", "ended_at"]
    list_filter = ["status", "task_type"]
    search_fields = ["name", "execution__id"]


@admin.register(Log)
class LogAdmin(ReadOnlyAdmin):
    list_display = ["timestamp", "level", "execution", "task_run", "message"]
    list_filter = ["level"]
    search_fields = ["message", "execution__id"]
    list_select_related = ["execution", "task_run"]
