"""Operators' admin for workflows (with their versions, stages and fields), records and actions.

Saving goes through the services, as every other write does: a changed definition makes a new
workflow version, field values are checked against the field definitions, and an action's steps
and requirements are validated before they are stored.
"""

from __future__ import annotations

import json

from django import forms
from django.contrib import admin, messages
from django.utils.html import format_html
from rest_framework.exceptions import APIException, ValidationError

from config.admin_views import ReadOnlyAdmin, ReadOnlyInline
from config.errors import error_lines, flatten_errors
from workflows import actions as action_services
from workflows import records as record_services
from workflows import services
from workflows.models import Action, FieldDefinition, Record, RecordEvent, Stage, Workflow, WorkflowVersion


def _messages(exc: ValidationError) -> list[str]:
    return error_lines(flatten_errors(exc.detail))


def _adopt(obj, saved) -> None:
    """Copy what a service saved onto the admin's object, which Django goes on to use (log entry, redirect)."""
    for field in type(obj)._meta.concrete_fields:
        setattr(obj, field.attname, getattr(saved, field.attname))
    obj._state.adding = False


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
            raise forms.ValidationError(_messages(exc)) from None


class WorkflowVersionInline(ReadOnlyInline):
    model = WorkflowVersion
    fields = ["number", "checksum", "created_by", "created_at", "tasks"]
    readonly_fields = fields
    ordering = ["-number"]
    show_change_link = True

    @admin.display(description="tasks")
    def tasks(self, version: WorkflowVersion) -> str:
        return ", ".join(t["name"] for t in version.definition.get("tasks", [])) or "-"


class StageInline(admin.TabularInline):
    model = Stage
    extra = 0
    fields = ["name", "position"]


class FieldDefinitionInline(admin.TabularInline):
    model = FieldDefinition
    extra = 0
    fields = ["name", "type", "required", "choices", "position"]


@admin.register(Workflow)
class WorkflowAdmin(admin.ModelAdmin):
    form = WorkflowForm
    list_display = ["name", "alias", "project", "enabled", "current_version", "updated_at"]
    list_filter = ["enabled", "project__tenant"]
    list_select_related = ["project", "project__tenant"]
    search_fields = ["name", "alias", "id", "integration_slug"]
    readonly_fields = ["id", "current_version", "created_by", "created_at", "updated_at"]
    autocomplete_fields = ["project"]
    inlines = [StageInline, FieldDefinitionInline, WorkflowVersionInline]

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
        _adopt(obj, saved)

    def save_formset(self, request, form, formset, change):
        if formset.model not in (Stage, FieldDefinition):
            return super().save_formset(request, form, formset, change)
        workflow = form.instance
        for inline_form in formset.forms:
            if not inline_form.has_changed() and not (formset.can_delete and formset._should_delete_form(inline_form)):
                continue
            row = inline_form.instance
            data = {k: v for k, v in inline_form.cleaned_data.items() if k in formset.form.base_fields}
            try:
                if formset.can_delete and formset._should_delete_form(inline_form):
                    if row.pk:
                        (record_services.delete_stage if formset.model is Stage else record_services.delete_field)(row)
                elif row.pk:
                    if formset.model is Stage:
                        record_services.update_stage(row, **{k: data[k] for k in ("name", "position") if k in data})
                    else:
                        record_services.update_field(row, **data)
                elif formset.model is Stage:
                    record_services.create_stage(workflow=workflow, **data)
                else:
                    record_services.create_field(workflow=workflow, **data)
            except (ValidationError, APIException) as exc:
                problems = _messages(exc) if isinstance(exc, ValidationError) else [str(exc.detail)]
                self.message_user(request, f"{formset.model._meta.verbose_name} {row}: {'; '.join(problems)}",
                                  messages.ERROR)
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []


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


@admin.register(Stage)
class StageAdmin(admin.ModelAdmin):
    list_display = ["name", "workflow", "position"]
    list_select_related = ["workflow"]
    list_filter = ["workflow__project__tenant"]
    search_fields = ["name", "workflow__name", "workflow__alias"]
    autocomplete_fields = ["workflow"]


@admin.register(FieldDefinition)
class FieldDefinitionAdmin(admin.ModelAdmin):
    list_display = ["name", "workflow", "type", "required", "position"]
    list_select_related = ["workflow"]
    list_filter = ["type", "required"]
    search_fields = ["name", "workflow__name", "workflow__alias"]
    autocomplete_fields = ["workflow"]


# -- records ---------------------------------------------------------------------------------------------
class RecordEventInline(ReadOnlyInline):
    model = RecordEvent
    fields = ["created_at", "kind", "outcome", "actor", "action", "execution", "detail"]
    readonly_fields = fields
    ordering = ["-created_at", "-id"]


class RecordForm(forms.ModelForm):
    class Meta:
        model = Record
        fields = ["workflow", "unique_id", "stage", "fields", "checklist", "assignee"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "unique_id" in self.fields:
            self.fields["unique_id"].required = False
            self.fields["unique_id"].help_text = "Leave empty for the workflow's next number."

    def clean(self):
        cleaned = super().clean()
        workflow = cleaned.get("workflow") or (self.instance.workflow if self.instance.workflow_id else None)
        if workflow is None:
            return cleaned
        try:
            record_services.resolve_assignee(workflow, cleaned.get("assignee"))
        except ValueError as exc:
            self.add_error("assignee", str(exc))
        _, problems = record_services.clean_fields(workflow, cleaned.get("fields") or {})
        for name, items in problems.items():
            self.add_error("fields", [f"{name}: {m}" for m in items])
        _, checklist_problems = record_services.clean_checklist(cleaned.get("checklist") or [])
        if checklist_problems:
            self.add_error("checklist", checklist_problems)
        stage = cleaned.get("stage")
        if stage is not None and stage.workflow_id != workflow.id:
            self.add_error("stage", f"Pick a stage of {workflow.name}.")
        return cleaned


@admin.register(Record)
class RecordAdmin(admin.ModelAdmin):
    form = RecordForm
    list_display = ["unique_id", "workflow", "stage", "assignee", "updated_at"]
    list_filter = ["workflow", "stage__name"]
    list_select_related = ["workflow", "stage", "assignee"]
    search_fields = ["=unique_id", "workflow__name", "workflow__alias", "assignee__username", "assignee__email"]
    readonly_fields = ["id", "tenant", "created_by", "created_at", "updated_by", "updated_at"]
    autocomplete_fields = ["workflow", "stage", "assignee"]
    inlines = [RecordEventInline]

    def get_readonly_fields(self, request, obj=None):
        return [*self.readonly_fields, "workflow", "unique_id"] if obj is not None else self.readonly_fields

    def save_model(self, request, obj, form, change):
        # RecordForm.clean checked what the services check, so these do not refuse.
        data = form.cleaned_data
        if change:
            saved = record_services.update_record(
                obj, fields=data.get("fields") or {}, replace_fields=True, checklist=data.get("checklist") or [],
                assignee=data.get("assignee"), stage=data.get("stage"), user=request.user)
        else:
            saved = record_services.create_record(
                workflow=data["workflow"], fields=data.get("fields") or {}, checklist=data.get("checklist") or [],
                assignee=data.get("assignee"), stage=data.get("stage") or record_services.UNSET,
                unique_id=data.get("unique_id"), user=request.user)
        _adopt(obj, saved)


# -- actions ---------------------------------------------------------------------------------------------
class ActionForm(forms.ModelForm):
    class Meta:
        model = Action
        fields = ["project", "workflow", "name", "description", "short_id", "enabled", "stages", "target_stage",
                  "allowed_roles", "allowed_users", "requirements", "steps", "report_to_flow_runs"]

    def clean(self):
        cleaned = super().clean()
        project = cleaned.get("project") or getattr(self.instance, "project", None)
        workflow = cleaned.get("workflow")
        if project is None:
            return cleaned
        changes = {key: cleaned.get(key) for key in ("requirements", "steps", "allowed_roles")}
        changes["stages"] = list(cleaned.get("stages") or [])
        changes["target_stage"] = cleaned.get("target_stage")
        try:
            action_services._plan_action(project=project, workflow=workflow, changes=changes)
        except ValidationError as exc:
            for problem in _messages(exc):
                field = problem.split(".", 1)[0].split(":", 1)[0].split("[", 1)[0]
                self.add_error(field if field in self.fields else None, problem)
        return cleaned


@admin.register(Action)
class ActionAdmin(admin.ModelAdmin):
    form = ActionForm
    list_display = ["name", "short_id", "id", "project", "workflow", "enabled", "target_stage", "created_at"]
    list_filter = ["enabled", "project__tenant", "workflow"]
    list_select_related = ["project__tenant", "workflow", "target_stage"]
    search_fields = ["name", "short_id", "=id", "workflow__name", "workflow__alias"]
    readonly_fields = ["id", "tenant", "created_at"]
    autocomplete_fields = ["project", "workflow", "target_stage"]
    filter_horizontal = ["stages", "allowed_users"]
    actions = ["enable_actions", "disable_actions"]

    def save_model(self, request, obj, form, change):
        data = dict(form.cleaned_data)
        data["stages"] = list(data.get("stages") or [])
        data["allowed_users"] = list(data.get("allowed_users") or [])
        project, workflow = data.pop("project"), data.pop("workflow", None)
        if change:
            saved = action_services.update_action(obj, workflow=workflow, **data)
        else:
            saved = action_services.create_action(project=project, workflow=workflow, **data)
        _adopt(obj, saved)

    def save_related(self, request, form, formsets, change):
        # The service set stages and allowed users already; only the inlines are left.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    @admin.action(description="Enable selected actions")
    def enable_actions(self, request, queryset):
        for action in queryset:
            action_services.update_action(action, enabled=True)
        self.message_user(request, f"Enabled {queryset.count()} action(s).", messages.SUCCESS)

    @admin.action(description="Disable selected actions")
    def disable_actions(self, request, queryset):
        for action in queryset:
            action_services.update_action(action, enabled=False)
        self.message_user(request, f"Disabled {queryset.count()} action(s).", messages.SUCCESS)
