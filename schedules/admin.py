"""Schedules in the admin: changed through the services, with the executions each started."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from rest_framework.exceptions import ValidationError

from config.admin_views import ReadOnlyInline, adopt
from schedules import services
from schedules.models import Schedule, ScheduleExecution


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


class ScheduleExecutionInline(ReadOnlyInline):
    model = ScheduleExecution
    fields = ["execution", "due_at"]
    readonly_fields = fields
    ordering = ["-due_at"]


@admin.register(Schedule)
class ScheduleAdmin(admin.ModelAdmin):
    form = ScheduleForm
    list_display = ["__str__", "workflow", "cron", "timezone", "enabled", "next_run_at", "last_outcome"]
    list_filter = ["enabled", "overlap_policy", "catchup_policy"]
    list_select_related = ["workflow"]
    search_fields = ["name", "cron", "workflow__name"]
    readonly_fields = ["next_run_at", "last_due_at", "last_outcome", "created_by_label", "created_at", "updated_at"]
    inlines = [ScheduleExecutionInline]

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
