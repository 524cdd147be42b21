"""Operators' admin for records, stages, fields and actions, and a workflow's stages and fields.

Every save and delete goes through the services, as every other write does: renaming a field
renames the values stored under it, deleting a field drops them, a stage that holds records
cannot be deleted, field values are checked against the field definitions, and an action's
steps and requirements are validated before they are stored.
"""

from __future__ import annotations

import uuid

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from rest_framework.exceptions import APIException, ValidationError

from config.admin_views import ReadOnlyInline, adopt, error_messages
from records import actions as action_services
from records import services as record_services
from records.models import Action, FieldDefinition, Record, RecordEvent, Stage
from workflows.admin import WorkflowAdmin
from workflows.models import Workflow


# -- stages and fields ---------------------------------------------------------------------------------
def _check_name(form: forms.ModelForm, check) -> None:
    """Check the form's name with the service that will save it, so a refusal shows on the form.

    On a change page the workflow is read-only, so Django's own check of the (workflow, name)
    constraint is skipped; without this the service's refusal would surface as a server error.
    """
    workflow = form.cleaned_data.get("workflow")
    workflow_id = workflow.pk if workflow is not None else form.instance.workflow_id
    if workflow_id is None or "name" not in form.cleaned_data:
        return  # a new workflow has no stages or fields yet; a missing name has its own error
    try:
        form.cleaned_data["name"] = check(workflow_id, form.cleaned_data["name"], form.instance.pk)
    except ValidationError as exc:
        form.add_error("name", [str(message) for message in exc.detail["name"]])


class StageForm(forms.ModelForm):
    class Meta:
        model = Stage
        fields = ["workflow", "name", "position"]

    def clean(self):
        cleaned = super().clean()
        _check_name(self, record_services.check_stage_name)
        return cleaned


class FieldDefinitionForm(forms.ModelForm):
    class Meta:
        model = FieldDefinition
        fields = ["workflow", "name", "type", "required", "choices", "position"]

    def clean(self):
        cleaned = super().clean()
        _check_name(self, record_services.check_field_name)
        try:
            record_services.check_choices(cleaned.get("type"), cleaned.get("choices") or [])
        except ValidationError as exc:
            self.add_error("choices", error_messages(exc))
        return cleaned


class StageInline(admin.TabularInline):
    model = Stage
    form = StageForm
    extra = 0
    fields = ["name", "position"]


class FieldDefinitionInline(admin.TabularInline):
    model = FieldDefinition
    form = FieldDefinitionForm
    extra = 0
    fields = ["name", "type", "required", "choices", "position"]


def save_stage(workflow: Workflow, stage: Stage | None, data: dict) -> Stage:
    """Create or change a stage through the services (``data``: name, position)."""
    values = {key: data[key] for key in ("name", "position") if key in data}
    if stage is not None and stage.pk:
        return record_services.update_stage(stage, **values)
    return record_services.create_stage(workflow=workflow, **values)


def save_field(workflow: Workflow, definition: FieldDefinition | None, data: dict) -> FieldDefinition:
    """Create or change a field definition through the services; a rename renames the stored values."""
    values = {key: data[key] for key in ("name", "type", "required", "choices", "position") if key in data}
    if definition is not None and definition.pk:
        # The form has already put the new values on the row; the service needs the old name.
        return record_services.update_field(FieldDefinition.objects.get(pk=definition.pk), **values)
    return record_services.create_field(workflow=workflow, **values)


class RecordsWorkflowAdmin(WorkflowAdmin):
    """The workflow page, with the workflow's stages and fields (saved through the services)."""

    inlines = [StageInline, FieldDefinitionInline, *WorkflowAdmin.inlines]

    def save_formset(self, request, form, formset, change):
        if formset.model not in (Stage, FieldDefinition):
            return super().save_formset(request, form, formset, change)
        workflow = form.instance
        for inline_form in formset.forms:
            deleting = formset.can_delete and formset._should_delete_form(inline_form)
            if not inline_form.has_changed() and not deleting:
                continue
            row = inline_form.instance
            data = {k: v for k, v in inline_form.cleaned_data.items() if k in formset.form.base_fields}
            try:
                if deleting:
                    if row.pk:  # as stored: the form may have changed the row's name
                        stored = formset.model.objects.get(pk=row.pk)
                        (record_services.delete_stage if formset.model is Stage else record_services.delete_field)(stored)
                elif formset.model is Stage:
                    save_stage(workflow, row, data)
                else:
                    save_field(workflow, row, data)
            except (ValidationError, APIException) as exc:
                problems = error_messages(exc) if isinstance(exc, ValidationError) else [str(exc.detail)]
                self.message_user(request, f"{formset.model._meta.verbose_name} {row}: {'; '.join(problems)}",
                                  messages.ERROR)
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []


admin.site.unregister(Workflow)
admin.site.register(Workflow, RecordsWorkflowAdmin)


@admin.register(Stage)
class StageAdmin(admin.ModelAdmin):
    """Stages, saved and deleted through the services: a stage that holds records is not deleted.

    A record's stage is a RESTRICT foreign key, so the delete page lists those records as what
    keeps the stage, and offers no way to delete it until they have moved.
    """

    form = StageForm
    list_display = ["name", "workflow", "position"]
    list_select_related = ["workflow"]
    list_filter = ["workflow__project__tenant"]
    search_fields = ["name", "workflow__name", "workflow__alias"]
    autocomplete_fields = ["workflow"]

    def get_readonly_fields(self, request, obj=None):
        return ["workflow"] if obj is not None else []

    def save_model(self, request, obj, form, change):
        adopt(obj, save_stage(form.cleaned_data.get("workflow") or obj.workflow, obj if change else None,
                              form.cleaned_data))

    def get_deleted_objects(self, objs, request):
        found = super().get_deleted_objects(objs, request)
        # Django lists the records that keep a stage; the service's reason also says what to do.
        for stage in objs:
            refusal = record_services.stage_refusal(stage)
            if refusal:
                self.message_user(request, refusal, messages.ERROR)
        return found

    def delete_model(self, request, obj):
        record_services.delete_stage(obj)

    def delete_queryset(self, request, queryset):
        for stage in queryset:
            record_services.delete_stage(stage)


@admin.register(FieldDefinition)
class FieldDefinitionAdmin(admin.ModelAdmin):
    """Field definitions, saved through the services: renaming or deleting one changes the records' values."""

    form = FieldDefinitionForm
    list_display = ["name", "workflow", "type", "required", "position"]
    list_select_related = ["workflow"]
    list_filter = ["type", "required"]
    search_fields = ["name", "workflow__name", "workflow__alias"]
    autocomplete_fields = ["workflow"]

    def get_readonly_fields(self, request, obj=None):
        return ["workflow"] if obj is not None else []

    def save_model(self, request, obj, form, change):
        adopt(obj, save_field(form.cleaned_data.get("workflow") or obj.workflow, obj if change else None,
                              form.cleaned_data))

    def delete_model(self, request, obj):
        record_services.delete_field(obj)

    def delete_queryset(self, request, queryset):
        for definition in queryset:
            record_services.delete_field(definition)


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


class StageFilter(admin.SimpleListFilter):
    """The stages, read from the stages table (never a SELECT DISTINCT over every record): the chosen
    workflow's, or the first of every workflow's when no workflow is chosen."""

    title = "stage"
    parameter_name = "stage"
    # More stages than fit in the sidebar are reached by choosing the workflow first.
    LIMIT = 50

    def lookups(self, request, model_admin):
        stages = Stage.objects.select_related("workflow").order_by("workflow__name", "workflow_id", "position", "id")
        workflow = request.GET.get("workflow__id__exact")
        if workflow:
            try:
                stages = stages.filter(workflow_id=uuid.UUID(workflow))
            except ValueError:
                return []
            return [(str(stage.pk), stage.name) for stage in stages[: self.LIMIT]]
        return [(str(stage.pk), f"{stage.workflow.name}: {stage.name}") for stage in stages[: self.LIMIT]]

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        try:
            return queryset.filter(stage_id=int(self.value()))
        except ValueError:
            raise IncorrectLookupParameters(f"stage={self.value()!r} is not the id of any stage.") from None


@admin.register(Record)
class RecordAdmin(admin.ModelAdmin):
    form = RecordForm
    list_display = ["unique_id", "workflow", "stage", "assignee", "updated_at"]
    list_filter = ["workflow", StageFilter]
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
        adopt(obj, saved)


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
            action_services.plan_action(project=project, workflow=workflow, changes=changes)
        except ValidationError as exc:
            for problem in error_messages(exc):
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
        adopt(obj, saved)

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
