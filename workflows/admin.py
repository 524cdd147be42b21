"""Operators' admin for workflows and their versions.

Saving goes through the services, as every other write does: a changed definition makes a new
workflow version. (``records.admin`` adds a workflow's stages and fields to its page.)
"""

from __future__ import annotations

import difflib
import json
import uuid

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html
from django.views.decorators.http import require_POST
from rest_framework.exceptions import APIException

from accounts.caller import Caller
from accounts.models import Role
from config.admin_views import ReadOnlyAdmin, ReadOnlyInline, adopt, error_messages
from config.formats import pretty_json
from executions.services import start_execution
from workflows import services
from workflows.graph import render_svg
from workflows.models import Workflow, WorkflowVersion


def _pretty(value) -> str:
    return format_html("<pre>{}</pre>", pretty_json(value))


class PrettyJSONField(forms.JSONField):
    """A JSON field shown indented, in a wide monospace box."""

    widget = forms.Textarea(attrs={"class": "fg-definition", "rows": 24, "cols": 100, "spellcheck": "false"})

    def prepare_value(self, value):
        if isinstance(value, forms.fields.InvalidJSONInput):
            return value
        return json.dumps(value, indent=2, ensure_ascii=False, cls=self.encoder)


def version_diff(older: WorkflowVersion, newer: WorkflowVersion) -> list[tuple[str, str]]:
    """The unified diff of two versions' pretty definitions, as (css class, line) pairs."""
    lines = difflib.unified_diff(pretty_json(older.definition).splitlines(), pretty_json(newer.definition).splitlines(),
                                 f"v{older.number}", f"v{newer.number}", lineterm="")
    kinds = []
    for line in lines:
        kind = ("hunk" if line.startswith("@@") else "add" if line.startswith("+") and not line.startswith("+++")
                else "del" if line.startswith("-") and not line.startswith("---") else "")
        kinds.append((kind, line))
    return kinds


class RunForm(forms.Form):
    input = PrettyJSONField(required=False, initial=dict, help_text="A JSON object: the execution's input.",
                            widget=forms.Textarea(attrs={"class": "fg-definition", "rows": 8, "cols": 100,
                                                         "spellcheck": "false"}))

    def clean_input(self):
        value = self.cleaned_data.get("input")
        if value in (None, ""):
            return {}
        if not isinstance(value, dict):
            raise forms.ValidationError(f"The input must be a JSON object like {{\"name\": \"Ada\"}}, "
                                        f"not a {type(value).__name__}.")
        return value


# -- workflows --------------------------------------------------------------------------------------------
class WorkflowForm(forms.ModelForm):
    definition = PrettyJSONField(required=False, help_text='{"tasks": [...]}. A change makes a new version; '
                                                          "every problem in it is listed when it is saved.")

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
            raise forms.ValidationError([problem_line(p) for p in exc.problems]) from None


def problem_line(problem: dict) -> str:
    where = problem["field"].removeprefix("definition").lstrip(".") or "definition"
    task = f"task {problem['task']!r}, " if problem.get("task") else ""
    return f"{task}{where}: {problem['message']}"


class WorkflowVersionInline(ReadOnlyInline):
    model = WorkflowVersion
    fields = ["number", "checksum", "created_by", "created_at", "tasks"]
    readonly_fields = fields
    ordering = ["-number"]
    show_change_link = True

    @admin.display(description="tasks")
    def tasks(self, version: WorkflowVersion) -> str:
        return ", ".join(t["name"] for t in version.definition.get("tasks", [])) or "-"


def _is_uuid(value) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


def _as_get(request):
    """The request re-read as a GET (the change page renders its form, not a save)."""
    request.method = "GET"
    return request


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
    change_form_template = "admin/workflows/workflow/change_form.html"

    class Media:
        css = {"all": ["flowgate-console.css"]}

    def get_urls(self):
        @require_POST
        def run(request, object_id):
            if not self.has_run_permission(request):
                raise PermissionDenied
            return self.run_view(request, object_id)

        return [path("<uuid:object_id>/run/", self.admin_site.admin_view(run), name="workflows_workflow_run"),
                *super().get_urls()]

    def has_run_permission(self, request) -> bool:
        """Starting an execution from the page: the permission to add executions."""
        return request.user.has_perm("executions.add_execution")

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra = dict(extra_context or {})
        workflow = Workflow.objects.filter(pk=object_id).first() if _is_uuid(object_id) else None
        if workflow is not None:
            extra.update(self.console_context(request, workflow))
        return super().change_view(request, object_id, form_url, extra)

    def console_context(self, request, workflow: Workflow, run_form: RunForm | None = None) -> dict:
        """The graph, the versions and their diff, and the Run form under the workflow's form."""
        versions = list(workflow.versions.order_by("-number").only("id", "number", "created_at"))
        by_number = {v.number: v for v in versions}
        diff, diff_error, pair = None, "", ()
        older, newer = request.GET.get("from"), request.GET.get("to")
        if older or newer:
            try:
                pair = int(older), int(newer)
                if not set(pair) <= by_number.keys():
                    raise KeyError(pair)
            except (KeyError, TypeError, ValueError):
                pair = ()
                diff_error = (f"Pick two of this workflow's versions to compare "
                              f"({', '.join(f'v{n}' for n in sorted(by_number)) or 'none yet'}).")
        # Only the definitions on show are read: the current one for the graph and a compared pair.
        shown = workflow.versions.filter(number__in={workflow.current_version, *pair}).only("number", "definition")
        definitions = {v.number: v for v in shown}
        if pair:
            diff = version_diff(definitions[pair[0]], definitions[pair[1]])
        current = definitions.get(workflow.current_version)
        return {
            "workflow_graph": render_svg(current.definition, title=f"Tasks of workflow {workflow.name}")
            if current else "",
            "versions": versions,
            "diff": diff, "diff_from": older, "diff_to": newer, "diff_error": diff_error,
            "run_form": (run_form or RunForm()) if self.has_run_permission(request) else None,
            "run_url": reverse("admin:workflows_workflow_run", args=[workflow.pk]),
        }

    def run_view(self, request, object_id):
        """Start an execution of the workflow's current version with the form's input; land on its page."""
        workflow = get_object_or_404(Workflow.objects.select_related("tenant"), pk=object_id)
        form = RunForm(request.POST)
        problem = ""
        if form.is_valid():
            caller = Caller(tenant=workflow.tenant, role=Role.ADMIN, user=request.user)
            try:
                execution, _ = start_execution(caller=caller, workflow=workflow, input=form.cleaned_data["input"])
            except APIException as exc:
                problem = "; ".join(error_messages(exc))
            else:
                messages.success(request, f"Execution {str(execution.id)[:8]} started.")
                return HttpResponseRedirect(reverse("admin:executions_execution_change", args=[execution.pk]))
        if problem:
            messages.error(request, problem)
            return HttpResponseRedirect(reverse("admin:workflows_workflow_change", args=[workflow.pk]))
        # Bad input: the workflow's page again, with the input as typed and what is wrong with it.
        response = super().change_view(_as_get(request), str(workflow.pk),
                                       extra_context=self.console_context(request, workflow, run_form=form))
        response.status_code = 400
        return response

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
