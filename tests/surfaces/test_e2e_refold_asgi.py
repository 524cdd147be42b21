"""Refold's underscore headers reach Flowgate through the ASGI server that make run and Docker Compose start."""

from __future__ import annotations

import http.client
import json

import pytest

from accounts import services as account_services
from accounts.models import Role
from executions.models import Execution
from tests.workflows.factories import WorkflowFactory

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]


def test_sync_execution_and_linked_account_id_arrive_under_uvicorn(web, project_a):
    WorkflowFactory(project=project_a, alias="answer", integration_slug="crm", tasks=[
        {"name": "answer", "type": "response", "config": {"value": {"n": "{{ input.n * 2 }}"}}}])
    key = account_services.create_api_key(project_a.tenant, "refold", Role.WORKFLOW)[1]
    connection = http.client.HTTPConnection("127.0.0.1", web, timeout=30)
    connection.request("POST", "/api/v1/workflow/answer/execute", body=json.dumps({"n": 21}), headers={
        "Content-Type": "application/json", "x-api-key": key, "slug": "crm", "sync_execution": "true",
        "linked_account_id": "john@acme.io"})
    response = connection.getresponse()
    body = json.loads(response.read())
    assert (response.status, body["return_value"]) == (200, {"n": 42})
    execution = Execution.objects.get(pk=body["execution_id"])
    assert (execution.linked_account_id, execution.retry_policy) == ("john@acme.io", "required_only")
