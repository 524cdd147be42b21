"""Task types are plugins: an app registers one, and validation and the engine use it unchanged."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from executions.models import ExecutionStatus
from tests.executions.factories import ExecutionFactory
from tests.workflows.factories import WorkflowFactory
from workflows.registry import ConfigField, TaskType, get_task_type, register, unregister
from workflows.validation import validate_definition

pytestmark = pytest.mark.django_db

SHOUT = TaskType("shout", "tests.support.tasks.run_shout", {
    "text": ConfigField((str,), required=True, description="May be a template."),
}, "The text in capitals.", in_group=False)


@pytest.fixture
def shout():
    register(SHOUT)
    yield SHOUT
    unregister("shout")


def test_a_registered_type_is_validated_by_its_schema(shout):
    assert validate_definition({"tasks": [{"name": "s", "type": "shout", "config": {"text": "hi"}}]}) == []
    problems = validate_definition({"tasks": [{"name": "s", "type": "shout", "config": {"loud": True}}]})
    assert [p["message"] for p in problems] == [
        "'text' is required for a shout task", "unknown field 'loud' for a shout task (allowed: text)"]
    grouped = validate_definition({"tasks": [{"name": "g", "type": "group", "config": {
        "items": [1], "tasks": [{"name": "s", "type": "shout", "config": {"text": "x"}}]}}]})
    assert [p["message"] for p in grouped] == ["a shout task cannot run inside a group"]


def test_a_registered_type_runs_in_the_engine(shout, project_a):
    workflow = WorkflowFactory(project=project_a, tasks=[
        {"name": "s", "type": "shout", "config": {"text": "hi {{ input.name }}"}}])
    execution = ExecutionFactory(workflow=workflow, input={"name": "Ada"}, run=True)
    assert execution.status == ExecutionStatus.SUCCEEDED
    assert execution.task_runs.get().output == {"text": "HI ADA"}


def test_a_second_type_under_a_taken_name_is_refused(shout):
    register(SHOUT)  # the same type again is harmless
    with pytest.raises(ImproperlyConfigured, match="registered twice"):
        register(TaskType("shout", "tests.support.tasks.run_shout", {}, "Another."))
    assert get_task_type("shout") is SHOUT


def test_the_features_register_their_own_types():
    assert get_task_type("approval").get_executor().__module__ == "approvals.task_types"
    assert get_task_type("update_record").executor == "records.services.apply_record_update"
    assert get_task_type("log").executor.startswith("executions.")
