"""Operators' admin for workflows and their versions.

Saving goes through the services, as every other write does: a changed definition makes a new
workflow version. (``records.admin`` adds a workflow's stages and fields to its page.)
"""

from __future__ import annotations

import json

from django import forms
from django.contrib import admin
from django.utils.html import format_html

from config.admin_views import ReadOnlyAdmin, ReadOnlyInline, adopt, error_messages
from workflows import services
from workflows.models import Workflow, WorkflowVersion


def _pretty(value) -> str:
    return format_html("<pre>{}</pre>", json.dumps(value, indent=2, sort_keys=True))


# -- workflows --------------------------------------------------------------------------------------------
class WorkflowForm(forms.ModelForm):
    definition = forms.JSONField(required=False, help_text='{"tasks": [...]}. A change makes a new version.')

    class Meta:
        model = Workflow
        fields = ["project", "name", "description", "alias", "integration_slug", "enabled", "tags"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["definition"].initial = services.current_definition(self.instance)

    def clean_definition(self):
        definition = self.cleaned_data.get("definition")
        if definition in (None, "") and not self.instance.pk:
            raise forms.ValidationError('A new workflow needs a definition, like {"tasks": []}.')
        if definition in (None, ""):
            return None
        try:
            return services.check_definition(definition)
        except services.DefinitionInvalid as exc:
            raise forms.ValidationError(error_messages(exc)) from None


class WorkflowVersionInline(ReadOnlyInline):
    model = WorkflowVersion
    fields = ["number", "checksum", "created_by", "created_at", "tasks"]
    readonly_fields = fields
    ordering = ["-number"]
    show_change_link = True

    @admin.display(description="tasks")
    def tasks(self, version: WorkflowVersion) -> str:
        return ", ".join(t["name"] for t in version.definition.get("tasks", [])) or "-"


@admin.register(Workflow)
class WorkflowAdmin(admin.ModelAdmin):
    form = WorkflowForm
    list_display = ["name", "alias", "project", "enabled", "current_version", "updated_at"]
    list_filter = ["enabled", "project__tenant"]
    list_select_related = ["project", "project__tenant"]
    search_fields = ["name", "alias", "id", "integration_slug"]
    readonly_fields = ["id", "current_version", "created_by", "created_at", "updated_at"]
    autocomplete_fields = ["project"]
    inlines = [WorkflowVersionInline]

    def get_readonly_fields(self, request, obj=None):
        # A workflow stays in its project: its executions, records and actions live there.
        return [*self.readonly_fields, "project"] if obj is not None else self.readonly_fields

    def save_model(self, request, obj, form, change):
        data = {name: form.cleaned_data[name] for name in
                ("name", "description", "alias", "integration_slug", "enabled", "tags") if name in form.cleaned_data}
        definition = form.cleaned_data.get("definition")
        if change:
            saved = services.update_workflow(obj, user=request.user, definition=definition, **data)
        else:
            saved = services.create_workflow(project=form.cleaned_data["project"], definition=definition,
                                             user=request.user, **data)
        adopt(obj, saved)


@admin.register(WorkflowVersion)
class WorkflowVersionAdmin(ReadOnlyAdmin):
    """Versions come from changing a workflow's definition."""

    list_display = ["workflow", "number", "created_at", "created_by"]
    list_select_related = ["workflow", "created_by"]
    search_fields = ["workflow__name", "workflow__alias", "checksum"]
    fields = ["workflow", "number", "checksum", "created_by", "created_at", "definition_pretty"]
    readonly_fields = fields

    @admin.display(description="definition")
    def definition_pretty(self, version: WorkflowVersion) -> str:
        return _pretty(version.definition)
