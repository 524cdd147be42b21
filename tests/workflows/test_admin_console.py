"""The operators' workflow page: pretty definition, every problem on save, graph, version diff and Run."""

from __future__ import annotations

import json

import pytest

from executions.models import Execution
from tests.records.test_stage_and_field_admin import unchanged_post
from tests.workflows.factories import WorkflowFactory
from workflows import services
from workflows.models import Workflow

pytestmark = pytest.mark.django_db

TASKS = [
    {"name": "fetch", "type": "set", "config": {"values": {"rows": 3}}},
    {"name": "report", "type": "response", "depends_on": ["fetch"], "config": {"value": "{{ input.name }}"}},
]


def page(workflow) -> str:
    return f"/admin/workflows/workflow/{workflow.id}/change/"


@pytest.fixture
def workflow(project_a):
    return WorkflowFactory(project=project_a, name="nightly", tasks=TASKS)


def form_data(client, workflow, definition) -> dict:
    """The workflow page posted as a browser would, with ``definition`` typed into its box."""
    data = unchanged_post(client.get(page(workflow)))
    data["definition"] = definition if isinstance(definition, str) else json.dumps(definition)
    return data


def test_the_definition_is_pretty_printed_in_a_wide_monospace_box(admin_client, workflow):
    response = admin_client.get(page(workflow))
    body = response.content.decode()
    assert 'class="fg-definition"' in body and 'cols="100"' in body
    assert '&quot;tasks&quot;: [\n    {' in body  # indented, one key a line


def test_the_page_draws_the_workflows_graph(admin_client, workflow):
    body = admin_client.get(page(workflow)).content.decode()
    assert 'data-testid="workflow-graph"' in body
    assert 'class="dag-node status-defined" data-task="report"' in body
    assert "report (response) runs after fetch." in body


def test_saving_lists_every_problem_of_the_definition(admin_client, workflow):
    bad = {"tasks": [{"name": "a", "type": "nope"}, {"name": "b", "type": "set", "depends_on": ["ghost"],
                                                      "config": {"values": {}}}]}
    post = form_data(admin_client, workflow, bad)
    response = admin_client.post(page(workflow), post)
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors["definition"]
    assert len(errors) >= 2, errors
    text = " ".join(errors)
    assert "nope" in text and "ghost" in text
    assert Workflow.objects.get(pk=workflow.pk).current_version == 1


def test_a_good_definition_saves_a_new_version(admin_client, workflow):
    changed = {"tasks": [*TASKS, {"name": "note", "type": "log", "depends_on": ["report"],
                                  "config": {"message": "sent"}}]}
    response = admin_client.post(page(workflow), form_data(admin_client, workflow, changed))
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    assert Workflow.objects.get(pk=workflow.pk).current_version == 2


def test_two_versions_are_compared_as_a_diff(admin_client, workflow):
    services.update_workflow(workflow, definition={"tasks": [TASKS[0]]})
    response = admin_client.get(page(workflow), {"from": "1", "to": "2"})
    body = response.content.decode()
    assert '<pre class="fg-diff" data-testid="version-diff">' in body
    assert '<span class="del">-      &quot;name&quot;: &quot;report&quot;,</span>' in body
    assert "--- v1" in body and "+++ v2" in body
    same = admin_client.get(page(workflow), {"from": "2", "to": "2"}).content.decode()
    assert "The two versions have the same definition." in same
    missing = admin_client.get(page(workflow), {"from": "1", "to": "9"}).content.decode()
    assert "Pick two of this workflow&#x27;s versions to compare (v1, v2)." in missing


def test_run_starts_an_execution_with_the_input_and_opens_its_page(admin_client, workflow):
    response = admin_client.post(f"/admin/workflows/workflow/{workflow.id}/run/", {"input": '{"name": "Ada"}'})
    execution = Execution.objects.get(workflow=workflow)
    assert response.status_code == 302
    assert response["Location"] == f"/admin/executions/execution/{execution.id}/change/"
    assert execution.input == {"name": "Ada"}
    assert execution.started_by_label == "admin"
    assert execution.workflow_version.number == 1


def test_run_refuses_input_that_is_not_a_json_object(admin_client, workflow):
    for raw, message in (('{"name": ', "Enter a valid JSON"), ("[1, 2]", "must be a JSON object")):
        response = admin_client.post(f"/admin/workflows/workflow/{workflow.id}/run/", {"input": raw})
        assert response.status_code == 400
        assert message in response.content.decode()
    assert not Execution.objects.filter(workflow=workflow).exists()


def test_run_of_a_disabled_workflow_says_how_to_fix_it(admin_client, workflow):
    services.update_workflow(workflow, enabled=False)
    response = admin_client.post(f"/admin/workflows/workflow/{workflow.id}/run/", {"input": "{}"}, follow=True)
    assert "is disabled; enable it to start executions" in response.content.decode()
    assert not Execution.objects.filter(workflow=workflow).exists()


def test_run_is_for_staff_only(client, workflow):
    response = client.post(f"/admin/workflows/workflow/{workflow.id}/run/", {"input": "{}"})
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    assert not Execution.objects.filter(workflow=workflow).exists()
