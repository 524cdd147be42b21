"""Load actions kept as YAML or JSON files: ``manage.py loadactions PATH [--tenant SLUG] [--project SLUG]``.

A file holds one action: ``name``, ``steps: {tasks: [...]}`` (a workflow definition) and, optionally,
``short_id``, ``description``, ``enabled``, ``workflow`` (alias or name, for an action on its
records), ``stages``, ``target_stage``, ``allowed_roles``, ``requirements`` and
``report_to_flow_runs``. An action is matched by ``short_id`` when the file gives one, else by name,
in the project; loading an unchanged file changes nothing.
"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import CommandError
from django.db.models import Q
from django.forms.models import model_to_dict

from accounts.models import Project
from records.actions import create_action, update_action
from records.models import Action
from workflows.management.commands.loadworkflows import Command as LoadWorkflowsCommand
from workflows.models import Workflow

ATTRIBUTES = ("short_id", "description", "enabled", "stages", "target_stage", "allowed_roles", "requirements",
              "report_to_flow_runs")
# Compared before and after a load to tell "updated" from "unchanged".
COMPARED = ("name", "short_id", "description", "enabled", "workflow", "target_stage", "allowed_roles",
            "requirements", "steps", "report_to_flow_runs")


class Command(LoadWorkflowsCommand):
    help = "Create or update actions from YAML/JSON files (a file or a folder of them)."
    kind = "action"

    def _load(self, file: Path, project: Project) -> str:
        data = self._read(file, required="steps")
        steps = data.get("steps") or {"tasks": data.get("tasks", [])}
        workflow = self._workflow(project, data["workflow"]) if data.get("workflow") else None
        attributes = {key: data[key] for key in ATTRIBUTES if key in data}
        existing = (Action.objects.filter(project=project, short_id=data["short_id"]).first() if data.get("short_id")
                    else Action.objects.filter(project=project, name=data["name"]).first())
        if existing is None:
            action = create_action(project=project, name=data["name"], workflow=workflow, steps=steps, **attributes)
            return f"created action {action.name!r} (id {action.id})"
        before = model_to_dict(existing, fields=COMPARED)
        action = update_action(existing, name=data["name"], workflow=workflow, steps=steps, **attributes)
        outcome = "unchanged" if model_to_dict(action, fields=COMPARED) == before else "updated"
        return f"{outcome} action {action.name!r} (id {action.id})"

    def _workflow(self, project: Project, name: str) -> Workflow:
        workflow = Workflow.objects.filter(project=project).filter(Q(alias=name) | Q(name=name)).first()
        if workflow is None:
            raise CommandError(f"No workflow {name!r} (alias or name) in project {project.slug!r}; load it first.")
        return workflow
