"""A receiver on loopback, a real worker: each event once per delivery id, signed; retries after 500s; redelivery."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.contrib.auth import get_user_model

from executions.services import start_execution
from tests.conftest import wait_until
from tests.support.clients import Client
from tests.workflows.factories import WorkflowFactory
from webhooks import services
from webhooks.models import Delivery
from webhooks.signing import verify

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]


class Receiver(ThreadingHTTPServer):
    """Answers 500 to the first ``failures`` requests of each webhook-id, then 200; records everything."""

    def __init__(self, failures: int) -> None:
        self.failures, self.requests, self.lock = failures, [], threading.Lock()
        super().__init__(("127.0.0.1", 0), Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hook"

    def accepted(self) -> dict[str, list[dict]]:
        with self.lock:
            found: dict[str, list[dict]] = {}
            for request in self.requests:
                if request["answer"] == 200:
                    found.setdefault(request["id"], []).append(request)
            return found


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        server: Receiver = self.server
        with server.lock:
            seen = sum(1 for r in server.requests if r["id"] == self.headers["webhook-id"])
            answer = 500 if seen < server.failures else 200
            server.requests.append({"id": self.headers["webhook-id"], "timestamp": self.headers["webhook-timestamp"],
                                    "signature": self.headers["webhook-signature"], "body": body, "answer": answer})
        self.send_response(answer)
        self.end_headers()
        self.wfile.write(b"no thanks" if answer == 500 else b"ok")

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver():
    server = Receiver(failures=2)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_each_event_arrives_once_per_delivery_id_signed_after_retries_and_again_when_redelivered(
        start_worker, receiver, project_a, settings):
    start_worker(FLOWGATE_WEBHOOK_RETRY_BASE_SECONDS="1", FLOWGATE_WEBHOOK_RETRY_MAX_SECONDS="2")
    settings.FLOWGATE_HTTP_ALLOW_PRIVATE = True  # the receiver is on loopback
    subscription, secret = services.create_subscription(project=project_a, url=receiver.url,
                                                        events=["execution.succeeded", "execution.failed"])
    good = WorkflowFactory(project=project_a, tasks=[{"name": "a", "type": "response", "config": {"value": "yes"}}])
    bad = WorkflowFactory(project=project_a, tasks=[{"name": "b", "type": "fail", "config": {"message": "no"}}])
    executions = [start_execution(caller=None, workflow=workflow)[0] for workflow in (good, bad, good)]

    wait_until(lambda: len(receiver.accepted()) == 3, timeout=90, interval=0.2)
    accepted = receiver.accepted()
    assert all(len(requests) == 1 for requests in accepted.values())  # once per delivery id
    events = {}
    for delivery_id, [request] in accepted.items():
        assert verify(secret, delivery_id, request["timestamp"], request["body"], request["signature"])
        payload = json.loads(request["body"])
        events[payload["data"]["execution"]["id"]] = payload["type"]
        # Each was refused twice first, then sent again with the same id: the attempts are recorded.
        assert [r["answer"] for r in receiver.requests if r["id"] == delivery_id] == [500, 500, 200]
        attempts = list(Delivery.objects.get(pk=delivery_id).attempt_rows.values_list("status_code", flat=True))
        assert attempts == [500, 500, 200]
    assert events == {str(executions[0].id): "execution.succeeded", str(executions[1].id): "execution.failed",
                      str(executions[2].id): "execution.succeeded"}

    # An operator redelivers one from the admin: a new delivery id, signed the same way.
    admin = get_user_model().objects.create_superuser("operator", "op@example.com", "pw-operator-123")
    browser = Client()
    browser.force_login(admin)
    first = next(iter(accepted))
    response = browser.post("/admin/webhooks/delivery/", {"action": "redeliver", "_selected_action": [first]})
    assert response.status_code == 302
    redelivery = Delivery.objects.get(redelivery_of_id=first)
    wait_until(lambda: str(redelivery.id) in receiver.accepted(), timeout=60, interval=0.2)
    [request] = receiver.accepted()[str(redelivery.id)]
    assert verify(secret, str(redelivery.id), request["timestamp"], request["body"], request["signature"])
    assert json.loads(request["body"])["data"] == json.loads(accepted[first][0]["body"])["data"]
