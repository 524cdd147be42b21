"""Live streams through the ASGI server and a real worker: in order, resumed without a gap, and cheap."""

from __future__ import annotations

import http.client
import json
import socket
import uuid

import pytest

from accounts import services as account_services
from accounts.models import Role
from executions.models import Log
from executions.services import start_execution
from tests.workflows.factories import WorkflowFactory

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]


def secret_of(project) -> str:
    return account_services.create_api_key(project.tenant, f"stream-{uuid.uuid4().hex[:6]}", Role.VIEWER)[1]


def stream(port: int, path: str, key: str, last_event_id: int | None = None, stop_after: int | None = None):
    """Read SSE messages until ``end`` (or ``stop_after`` messages, then drop the connection)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Authorization": f"Bearer {key}", "Accept": "text/event-stream"}
    if last_event_id is not None:
        headers["Last-Event-ID"] = str(last_event_id)
    connection.request("GET", path, headers=headers)
    response = connection.getresponse()
    assert response.status == 200, response.read()
    messages, fields = [], {}
    try:
        while True:
            line = response.readline().decode()
            if not line:
                return messages
            line = line.rstrip("\n")
            if line:
                if not line.startswith(":"):
                    name, _, value = line.partition(": ")
                    fields[name] = value
                continue
            if "event" in fields:
                messages.append({"id": int(fields["id"]) if "id" in fields else None, "event": fields["event"],
                                 "data": json.loads(fields["data"])})
                if fields["event"] == "end" or (stop_after is not None and len(messages) >= stop_after):
                    return messages
            fields = {}
    finally:
        connection.close()


def test_a_client_gets_every_transition_and_line_in_order_and_resumes_without_a_gap(web, project_a):
    workflow = WorkflowFactory(project=project_a, tasks=[
        {"name": "one", "type": "log", "config": {"message": "first line"}},
        {"name": "nap", "type": "sleep", "config": {"seconds": 1.5}, "depends_on": ["one"]},
        {"name": "two", "type": "log", "config": {"message": "second line"}, "depends_on": ["nap"]},
        {"name": "nap2", "type": "sleep", "config": {"seconds": 1.5}, "depends_on": ["two"]},
        {"name": "three", "type": "log", "config": {"message": "third line"}, "depends_on": ["nap2"]},
    ])
    execution, _ = start_execution(caller=None, workflow=workflow)
    key, path = secret_of(project_a), f"/api/v1/executions/{execution.id}/events"
    # Connected while it runs; dropped after a few messages, then resumed where it stopped.
    first = stream(web, path, key, stop_after=6)
    last_id = [m["id"] for m in first if m["id"] is not None][-1]
    rest = stream(web, path, key, last_event_id=last_id)
    received = [m for m in first if not (m["id"] is None and m["event"] != "end")] + rest
    # Messages without an id belong to the row whose id comes next; nothing after the last id was in `first`.
    assert rest[-1] == {"id": None, "event": "end", "data": {"status": "succeeded"}}
    lines = list(Log.objects.filter(execution=execution).order_by("id").values_list("id", "message"))
    logs = [(m["id"], m["data"]["message"]) for m in first + rest if m["event"] == "log"]
    assert logs == lines  # every line, in order, none twice
    statuses = [m["data"]["status"] for m in first + rest if m["event"] == "status"]
    assert statuses == ["queued", "running", "succeeded"]
    transitions = [(m["data"]["name"], m["data"]["status"]) for m in first + rest if m["event"] == "task"]
    assert transitions == [(name, state) for name in ("one", "nap", "two", "nap2", "three")
                           for state in ("running", "succeeded")]
    assert received


def test_healthz_and_the_api_answer_while_200_streams_are_open(web, project_a):
    """Open streams hold no thread: with 200 of them open, /healthz and an API read still answer.
    (How fast: the reliability battery times /healthz with 200 streams open, docs/reliability.md.)"""
    workflow = WorkflowFactory(project=project_a, tasks=[{"name": "wait", "type": "delay", "config": {"seconds": 600}}])
    execution, _ = start_execution(caller=None, workflow=workflow)
    key = secret_of(project_a)
    request = (f"GET /api/v1/executions/{execution.id}/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
               f"Authorization: Bearer {key}\r\nAccept: text/event-stream\r\n\r\n").encode()
    sockets = []
    try:
        for _ in range(200):
            sock = socket.create_connection(("127.0.0.1", web), timeout=30)
            sock.sendall(request)
            sockets.append(sock)
        for sock in sockets:  # each stream is open: its headers and first message came back
            assert b"200 OK" in sock.recv(4096)
        for path, headers in (("/healthz", {}), (f"/api/v1/executions/{execution.id}/",
                                                 {"Authorization": f"Bearer {key}"})):
            connection = http.client.HTTPConnection("127.0.0.1", web, timeout=10)
            connection.request("GET", path, headers=headers)
            assert connection.getresponse().status == 200, path
            connection.close()
    finally:
        for sock in sockets:
            sock.close()
