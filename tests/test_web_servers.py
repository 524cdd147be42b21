"""What the web servers refuse before Django sees a request answers JSON in the surface's shape, not HTML.

gunicorn (``gunicorn config.wsgi:application``, reading ./gunicorn.conf.py) refuses a header with
a control character itself and used to refuse a request line over 4094 bytes (an 8 KB cursor) with
an HTML 414; uvicorn (``python -m config.serve``) hands both to Flowgate.
"""

from __future__ import annotations

import json
import socket
import sys
import uuid
from pathlib import Path

import pytest

from accounts import services as account_services
from accounts.models import Role
from executions.models import Execution
from tests.conftest import free_port, serving
from tests.workflows.factories import WorkflowFactory

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

SERVERS = {
    "gunicorn": [sys.executable, "-m", "gunicorn", "config.wsgi:application", "--workers", "1"],
    "uvicorn": [sys.executable, "-m", "config.serve", "config.asgi:application", "--workers", "1",
                "--timeout-graceful-shutdown", "1"],
}


@pytest.fixture(params=sorted(SERVERS))
def server(request, tmp_path):
    """The web server on a free port, on the test database; answers the port."""
    port = free_port()
    command = [*SERVERS[request.param], "--bind" if request.param == "gunicorn" else "--port",
               f"127.0.0.1:{port}" if request.param == "gunicorn" else str(port)]
    log_path = Path(tmp_path) / f"{request.param}-{uuid.uuid4().hex[:8]}.log"
    with serving(command, port, log_path):
        yield port


def raw_request(port: int, head: bytes) -> tuple[int, str, dict]:
    """Send ``head`` as it is (http.client refuses to send what these tests send); answer status, type, body."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(head)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head_part, _, body = answer.partition(b"\r\n\r\n")
    lines = head_part.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in lines[1:])}
    return int(lines[0].split()[1]), headers.get("content-type", ""), json.loads(body)


def get(path: str, key: str, *extra: bytes) -> bytes:
    return b"\r\n".join([f"GET {path} HTTP/1.1".encode(), b"Host: 127.0.0.1", f"Authorization: Bearer {key}".encode(),
                         *extra, b"Connection: close", b"", b""])


def test_a_control_character_in_an_idempotency_key_answers_a_json_400(server, project_a):
    WorkflowFactory(project=project_a, alias="w", tasks=[])
    key = account_services.create_api_key(project_a.tenant, "k", Role.ADMIN)[1]
    body = b'{"workflow": "w"}'
    head = get("/api/v1/executions/", key, b"Idempotency-Key: a\x01b", b"Content-Type: application/json",
               f"Content-Length: {len(body)}".encode()).replace(b"GET ", b"POST ", 1)
    status, content_type, answer = raw_request(server, head + body)
    assert (status, content_type) == (400, "application/json")
    assert set(answer) == {"detail", "errors"} and "Idempotency-Key" in answer["detail"].replace("IDEMPOTENCY-KEY",
                                                                                                  "Idempotency-Key")
    assert not Execution.objects.exists()


@pytest.mark.parametrize("server", ["gunicorn"], indirect=True)
@pytest.mark.parametrize("path, shape", [
    ("/api/v1/executions/", {"detail", "errors"}),
    ("/api/v1/flow-runs", {"detail"}),
    ("/workflows/{wf}/executions", {"data", "messages", "succeeded", "generatedAtUtc"}),
])
def test_gunicorn_answers_a_header_it_refuses_in_the_surfaces_shape(server, project_a, path, shape):
    key = account_services.create_api_key(project_a.tenant, "k", Role.ADMIN)[1]
    status, content_type, body = raw_request(server, get(path.format(wf=uuid.uuid4()), key,
                                                         b"Idempotency-Key: a\x01b"))
    assert status == 400 and content_type.startswith("application/json")
    assert set(body) == shape


@pytest.mark.parametrize("path, status, shape", [
    ("/api/v1/executions/?cursor=", 400, {"detail", "errors"}),
    ("/api/v1/flow-runs?cursor=", 422, {"detail"}),
])
def test_a_cursor_over_8_kb_reaches_flowgate_and_answers_in_the_surfaces_shape(server, project_a, path, status, shape):
    key = account_services.create_api_key(project_a.tenant, "k", Role.ADMIN)[1]
    answer = raw_request(server, get(path + "a" * 9000, key))
    assert answer[:2] == (status, "application/json")
    assert set(answer[2]) == shape
