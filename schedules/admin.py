"""Schedules in the admin: changed through the services, with the executions each started."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.forms.models import BaseInlineFormSet
from django.urls import reverse
from django.utils.html import format_html
from rest_framework.exceptions import ValidationError

from config.admin_views import ReadOnlyInline, adopt
from executions.admin import OriginFilter
from schedules import services
from schedules.models import Schedule, ScheduleExecution

# Executions a schedule's page lists (the newest); the executions list, filtered by the schedule, has them all.
NEWEST_EXECUTIONS = 20


class ScheduleForm(forms.ModelForm):
    class Meta:
        model = Schedule
        fields = ["workflow", "name", "cron", "timezone", "input", "enabled", "overlap_policy", "catchup_policy"]

    def clean(self):
        cleaned = super().clean()
        try:
            services.cron_for(cleaned.get("cron") or "", cleaned.get("timezone") or "")
        except ValidationError as exc:
            for field, messages in exc.detail.items():
                for message in messages:
                    self.add_error(field, str(message))
        return cleaned


class NewestFormSet(BaseInlineFormSet):
    """The schedule's newest executions only: a schedule that has run for years started many."""

    def get_queryset(self):
        if not hasattr(self, "_queryset"):
            self._queryset = super().get_queryset()[:NEWEST_EXECUTIONS]
        return self._queryset


class ScheduleExecutionInline(ReadOnlyInline):
    model = ScheduleExecution
    formset = NewestFormSet
    fields = ["execution", "due_at"]
    readonly_fields = fields
    # Newest first, through the index on (schedule, due_at) read backwards.
    ordering = ["-due_at"]
    verbose_name_plural = f"executions it started (the newest {NEWEST_EXECUTIONS}; see all of them above)"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("execution")


@admin.register(Schedule)
class ScheduleAdmin(admin.ModelAdmin):
    form = ScheduleForm
    list_display = ["__str__", "workflow", "cron", "timezone", "enabled", "next_run_at", "last_outcome"]
    list_filter = ["enabled", "overlap_policy", "catchup_policy"]
    list_select_related = ["workflow"]
    search_fields = ["name", "cron", "workflow__name"]
    readonly_fields = ["next_run_at", "last_due_at", "last_outcome", "started_executions", "created_by_label",
                       "created_at", "updated_at"]
    inlines = [ScheduleExecutionInline]

    @admin.display(description="executions")
    def started_executions(self, schedule: Schedule) -> str:
        if schedule.pk is None:
            return "-"
        url = reverse("admin:executions_execution_changelist")
        return format_html('<a href="{}?{}={}">Every execution this schedule started</a>', url,
                           OriginFilter.parameter_name, schedule.pk)

    def get_readonly_fields(self, request, obj=None):
        # A schedule stays on its workflow.
        return [*self.readonly_fields, "workflow"] if obj is not None else self.readonly_fields

    def save_model(self, request, obj, form, change):
        data = {name: form.cleaned_data[name] for name in form.changed_data if name in services.CHANGEABLE}
        if change:
            adopt(obj, services.update_schedule(Schedule.objects.get(pk=obj.pk), **data))
        else:
            created = services.create_schedule(
                workflow=form.cleaned_data["workflow"], cron=form.cleaned_data["cron"],
                timezone_name=form.cleaned_data["timezone"], input=form.cleaned_data["input"],
                enabled=form.cleaned_data["enabled"], overlap_policy=form.cleaned_data["overlap_policy"],
                catchup_policy=form.cleaned_data["catchup_policy"], name=form.cleaned_data["name"])
            adopt(obj, created)

    def delete_model(self, request, obj):
        services.delete_schedule(obj)
