"""GET /api/v1/executions/{id}/events: every transition and line, in order, resumable, scoped."""

import json

import pytest
from asgiref.sync import async_to_sync

from executions.models import Log
from tests.executions.factories import ExecutionFactory
from tests.support.openapi import openapi_document
from tests.workflows.factories import WorkflowFactory

# The stream reads on a thread of its own (its own connection): the rows must be committed.
pytestmark = pytest.mark.django_db(transaction=True)


async def collect(chunks) -> bytes:
    return b"".join([chunk.encode() if isinstance(chunk, str) else chunk async for chunk in chunks])


def parse(body: str) -> list[dict]:
    """SSE messages as dicts: id (or None), event, data."""
    events = []
    for block in body.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line and not line.startswith(":"))
        if "event" in fields:
            events.append({"id": int(fields["id"]) if "id" in fields else None, "event": fields["event"],
                           "data": json.loads(fields["data"])})
    return events


def read(client, path, **headers) -> list[dict]:
    response = client.get(path, **headers)
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "text/event-stream"
    return parse(async_to_sync(collect)(response.streaming_content).decode())


@pytest.fixture
def finished(project_a, django_capture_on_commit_callbacks):
    workflow = WorkflowFactory(project=project_a, tasks=[
        {"name": "first", "type": "log", "config": {"message": "hello"}},
        {"name": "second", "type": "response", "config": {"value": 1}, "depends_on": ["first"]},
        {"name": "never", "type": "fail", "config": {"message": "no"}, "depends_on": ["second"]},
    ])
    return ExecutionFactory(workflow=workflow, run=True)


def test_it_sends_every_status_change_task_transition_and_line_in_order_then_ends(admin_api, finished):
    events = read(admin_api, f"/api/v1/executions/{finished.id}/events")
    lines = list(Log.objects.filter(execution=finished).order_by("id"))
    assert [e["data"]["message"] for e in events if e["event"] == "log"] == [line.message for line in lines]
    assert [e["id"] for e in events if e["event"] == "log"] == [line.id for line in lines]
    assert [e["data"]["status"] for e in events if e["event"] == "status"] == ["queued", "running", "failed"]
    transitions = [(e["data"]["name"], e["data"]["status"]) for e in events if e["event"] == "task"]
    assert transitions == [("first", "running"), ("first", "succeeded"), ("second", "running"),
                           ("second", "succeeded"), ("never", "running"), ("never", "failed")]
    assert events[-1] == {"id": None, "event": "end", "data": {"status": "failed"}}


def test_it_resumes_after_the_last_event_id_without_a_gap_or_a_repeat(admin_api, finished):
    everything = read(admin_api, f"/api/v1/executions/{finished.id}/events")
    ids = [e["id"] for e in everything if e["id"] is not None]
    middle = ids[len(ids) // 2]
    resumed = read(admin_api, f"/api/v1/executions/{finished.id}/events", HTTP_LAST_EVENT_ID=str(middle))
    assert [e["id"] for e in resumed if e["id"] is not None] == [i for i in ids if i > middle]
    by_query = read(admin_api, f"/api/v1/executions/{finished.id}/events?last_event_id={middle}")
    assert by_query == resumed


def test_it_answers_401_403_404_and_400_like_the_rest_of_the_api(client, outsider_api, admin_api, finished):
    path = f"/api/v1/executions/{finished.id}/events"
    assert client.get(path).status_code == 401
    assert outsider_api.get(path).status_code == 404
    assert admin_api.get("/api/v1/executions/not-a-uuid/events").status_code == 404
    response = admin_api.get(path, HTTP_LAST_EVENT_ID="abc")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "Last-Event-ID"


def test_the_stream_is_in_the_api_document():
    operation = openapi_document()["paths"]["/api/v1/executions/{id}/events"]["get"]
    assert "text/event-stream" in operation["responses"]["200"]["content"]
    assert {"401", "403", "404"} <= set(operation["responses"])


def test_the_operators_page_reads_the_same_stream_as_staff_of_any_tenant(admin_client, finished):
    """The admin's execution page follows /admin/…/events/: the API's events, for a superuser who is
    no member of the execution's tenant, resumable like the API's."""
    path = f"/admin/executions/execution/{finished.id}/events/"
    api_like = read(admin_client, path)
    lines = list(Log.objects.filter(execution=finished).order_by("id"))
    assert [e["id"] for e in api_like if e["event"] == "log"] == [line.id for line in lines]
    assert api_like[-1] == {"id": None, "event": "end", "data": {"status": "failed"}}
    middle = lines[len(lines) // 2].id
    resumed = read(admin_client, path, HTTP_LAST_EVENT_ID=str(middle))
    assert [e["id"] for e in resumed if e["id"] is not None] == [line.id for line in lines if line.id > middle]
    assert admin_client.get(path, HTTP_LAST_EVENT_ID="abc").status_code == 400
    page = admin_client.get(f"/admin/executions/execution/{finished.id}/change/").content.decode()
    assert f'data-events-url="{path}"' in page


def test_the_operators_stream_is_for_staff_who_may_view_executions(client, django_user_model, finished):
    from django.contrib.auth.models import Permission

    path = f"/admin/executions/execution/{finished.id}/events/"
    assert client.get(path).status_code == 403  # signed out
    user = django_user_model.objects.create_user("olga", password="pw-olga-12345", is_staff=True)
    client.force_login(user)
    assert client.get(path).status_code == 403  # staff, but may not view executions
    user.user_permissions.set(Permission.objects.filter(codename="view_execution"))
    assert client.get(path).status_code == 200
    assert client.get("/admin/executions/execution/00000000-0000-0000-0000-000000000000/events/").status_code == 404
