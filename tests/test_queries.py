"""Compiled reads answer what the queryset they were compiled from answers."""

from __future__ import annotations

import uuid

import pytest

from accounts.models import Tenant
from config.queries import CompiledRead
from executions.models import Execution
from executions.services import start_execution
from workflows.services import create_workflow

pytestmark = pytest.mark.django_db

COLUMNS = ("id", "status", "input", "tags", "created_at", "workflow__name", "workflow_version__definition")


def read() -> CompiledRead:
    return CompiledRead(lambda pk, tenant: Execution.objects.filter(pk=pk, tenant_id=tenant).values(*COLUMNS),
                        pk=uuid.uuid4(), tenant=uuid.uuid4())


def test_a_compiled_read_answers_as_the_queryset_does_for_any_values(project_a, project_b):
    definition = {"tasks": [{"name": "a", "type": "log", "config": {"message": "x"}}]}
    mine = start_execution(caller=None, workflow=create_workflow(project=project_a, name="A", definition=definition),
                           input={"n": 1, "names": ["x"]}, tags={"t": "v"})[0]
    theirs = start_execution(caller=None, workflow=create_workflow(project=project_b, name="B", definition=definition),
                             input={"n": 2})[0]
    compiled = read()
    for execution in (mine, theirs):
        expected = Execution.objects.filter(pk=execution.pk, tenant_id=execution.tenant_id).values(*COLUMNS).get()
        assert compiled.first(pk=execution.pk, tenant=execution.tenant_id) == expected
    # The parameters are the values of each run, not the first one's: another tenant finds nothing.
    assert compiled.first(pk=mine.pk, tenant=theirs.tenant_id) is None
    assert compiled.rows(pk=uuid.uuid4(), tenant=mine.tenant_id) == []


def test_a_read_that_ignores_a_value_is_refused():
    unused = CompiledRead(lambda pk, tenant: Tenant.objects.filter(pk=pk).values("id"), pk=uuid.uuid4(),
                          tenant=uuid.uuid4())
    with pytest.raises(ValueError, match="does not use the values tenant"):
        unused.first(pk=uuid.uuid4(), tenant=uuid.uuid4())
