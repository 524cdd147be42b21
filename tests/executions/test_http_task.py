"""The http task type: JSON out and in, expected statuses, and the private addresses it refuses to reach."""

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from executions.executors import PrivateAddressRefused, check_public_host
from executions.models import ExecutionStatus, TaskRunStatus
from tests.executions.factories import ExecutionFactory
from tests.workflows.factories import WorkflowFactory

pytestmark = pytest.mark.django_db


class _Handler(BaseHTTPRequestHandler):
    """GET answers ``body``; POST echoes the JSON it got and its path (201, or 500 at /broken)."""

    body = b'{"ok": true}'

    def do_GET(self):
        self._answer(200, self.body)

    def do_POST(self):
        sent = self.rfile.read(int(self.headers["Content-Length"]))
        self._answer(201 if self.path != "/broken" else 500,
                     json.dumps({"echo": json.loads(sent), "path": self.path}).encode())

    def _answer(self, status: int, payload: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


@pytest.fixture
def local_server():
    """``local_server(body)``: the port of a server on 127.0.0.1 whose GET answers ``body``."""
    servers = []

    def start(body: bytes = b'{"ok": true}') -> int:
        server = HTTPServer(("127.0.0.1", 0), type("Handler", (_Handler,), {"body": body}))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server.server_address[1]

    yield start
    for server in servers:
        server.shutdown()


def run_call(project, **config):
    workflow = WorkflowFactory(project=project, tasks=[{"name": "call", "type": "http", "config": config}])
    return ExecutionFactory(workflow=workflow, input={"n": 3}, run=True)


def test_it_sends_json_and_parses_the_answer(project_a, settings, local_server):
    settings.FLOWGATE_HTTP_ALLOW_PRIVATE = True
    execution = run_call(project_a, method="POST", url=f"http://127.0.0.1:{local_server()}/things",
                         body={"n": "{{ input.n }}"}, expected_status=[201])
    output = execution.task_runs.get().output
    assert output["status"] == 201
    assert output["body"] == {"echo": {"n": 3}, "path": "/things"}


def test_it_fails_on_an_unexpected_status(project_a, settings, local_server):
    settings.FLOWGATE_HTTP_ALLOW_PRIVATE = True
    execution = run_call(project_a, method="POST", url=f"http://127.0.0.1:{local_server()}/broken", body={})
    assert "answered 500, expected 2xx" in execution.task_runs.get().message


def test_it_fails_the_task_on_an_answer_with_nul_characters(project_a, settings, local_server):
    settings.FLOWGATE_HTTP_ALLOW_PRIVATE = True
    port = local_server(b'{"name": "a\\u0000b"}')
    execution = run_call(project_a, url=f"http://127.0.0.1:{port}/")
    run = execution.task_runs.get()
    assert (execution.status, run.status) == (ExecutionStatus.FAILED, TaskRunStatus.FAILED)
    assert "cannot be stored" in run.message


# -- private addresses ------------------------------------------------------------------------------------
def test_it_refuses_loopback_targets_by_default(project_a, local_server):
    run = run_call(project_a, url=f"http://127.0.0.1:{local_server()}/x").task_runs.get()
    assert run.status == "failed" and "FLOWGATE_HTTP_ALLOW_PRIVATE" in run.message


def test_it_reaches_private_targets_when_allowed(project_a, settings, local_server):
    settings.FLOWGATE_HTTP_ALLOW_PRIVATE = True
    execution = run_call(project_a, url=f"http://127.0.0.1:{local_server()}/")
    assert execution.task_runs.get().output["body"] == {"ok": True}


@pytest.mark.parametrize("host", ["127.0.0.1", "10.1.2.3", "192.168.0.1", "169.254.169.254", "::1", "localhost",
                                  "100.100.100.200", "100.64.0.1", "2002:a00:1::1"])
def test_it_refuses_private_link_local_shared_and_embedded_private_addresses(host):
    with pytest.raises(PrivateAddressRefused):
        check_public_host(host)


def test_it_refuses_a_name_that_resolves_public_then_private(project_a, local_server, monkeypatch):
    """DNS rebinding: the check saw a public address, the connection must not reach loopback."""
    port = local_server()
    real = socket.getaddrinfo
    calls = []

    def rebinding(host, *args, **kwargs):
        if host != "rebind.example":
            return real(host, *args, **kwargs)
        calls.append(host)
        address = "93.184.216.34" if len(calls) == 1 else "127.0.0.1"
        return real(address, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    run = run_call(project_a, url=f"http://rebind.example:{port}/").task_runs.get()
    assert run.status == TaskRunStatus.FAILED
    assert "127.0.0.1" in run.message and run.output is None
