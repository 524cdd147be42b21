"""``manage.py loadactions``: actions kept as YAML or JSON files, loaded idempotently."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from records.models import Action
from tests.records.factories import StageFactory
from tests.workflows.factories import WorkflowFactory

pytestmark = pytest.mark.django_db

REPORT = """
name: Refresh report
description: Rebuilds the report
steps:
  tasks:
    - {name: extract, type: set, config: {values: {rows: 42}}}
"""


def load(path) -> str:
    out = StringIO()
    call_command("loadactions", str(path), "--tenant", "acme", "--project", "main", stdout=out, stderr=StringIO())
    return out.getvalue()


def test_it_creates_then_leaves_unchanged_then_updates(project_a, tmp_path):
    file = tmp_path / "report.yaml"
    file.write_text(REPORT)
    assert "created action 'Refresh report'" in load(tmp_path)
    action = Action.objects.get(project=project_a)
    assert (action.description, action.steps["tasks"][0]["name"], action.workflow) == (
        "Rebuilds the report", "extract", None)
    assert f"unchanged action 'Refresh report' (id {action.id})" in load(file)
    file.write_text(REPORT.replace("Rebuilds the report", "Rebuilds it"))
    assert "updated action 'Refresh report'" in load(file)
    assert Action.objects.get(pk=action.pk).description == "Rebuilds it"
    assert Action.objects.count() == 1


def test_it_loads_an_action_on_a_workflows_records_by_short_id(project_a, tmp_path):
    workflow = WorkflowFactory(project=project_a, name="Admissions", alias="admissions")
    for name in ("New", "Approved"):
        StageFactory(workflow=workflow, name=name)
    (tmp_path / "approve.json").write_text(
        '{"name": "Approve", "short_id": "edHR10", "workflow": "admissions", "stages": ["New"], '
        '"target_stage": "Approved", "allowed_roles": ["approver"], "steps": {"tasks": []}}')
    load(tmp_path)
    action = Action.objects.get(short_id="edHR10")
    assert (action.workflow, action.target_stage.name, list(action.stages.values_list("name", flat=True)),
            action.allowed_roles) == (workflow, "Approved", ["New"], ["approver"])


@pytest.mark.parametrize("text, message", [
    ("name: Broken\nsteps: {tasks: [{name: x, type: nope}]}", "invalid action"),
    ("name: Lost\nworkflow: missing\nsteps: {tasks: []}", "No workflow 'missing'"),
    ("- just a list", "must be a mapping with at least `name` and `steps`"),
])
def test_it_explains_a_file_it_cannot_load(project_a, tmp_path, text, message):
    (tmp_path / "bad.yaml").write_text(text)
    errors = StringIO()
    with pytest.raises(CommandError, match="1 file"):
        call_command("loadactions", str(tmp_path), "--tenant", "acme", stdout=StringIO(), stderr=errors)
    assert message in errors.getvalue()
    assert not Action.objects.exists()
