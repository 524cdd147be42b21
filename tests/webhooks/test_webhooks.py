"""Webhooks: deliveries written with the event, signed, retried with back-off, shown, redelivered; scoped API."""

from __future__ import annotations

import socket
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from unittest import mock

import pytest
from django.utils import timezone

from approvals.models import Approval
from approvals.services import decide_approval
from executions.services import cancel_execution
from tests.accounts.factories import key_caller
from tests.executions.factories import ExecutionFactory
from tests.workflows.factories import WorkflowFactory
from webhooks import services
from webhooks.models import CallbackSecret, Delivery, DeliveryStatus, Subscription
from webhooks.signing import verify

pytestmark = pytest.mark.django_db

HOOK = "https://hooks.example.com/flowgate"


@pytest.fixture
def public_dns():
    """Every name resolves to a public address (no network)."""
    with mock.patch("socket.getaddrinfo", return_value=[(2, 1, 6, "", ("93.184.215.14", 0))]):
        yield


@pytest.fixture
def sent():
    """Replaces the HTTP call: answers what ``sent.answers`` holds (200 by default) and records requests."""
    calls, answers = [], []

    def post(url, body, headers, timeout):
        calls.append({"url": url, "body": body, "headers": headers})
        status = answers.pop(0) if answers else 200
        return services.Answer(status, "ok" if status == 200 else "boom", "" if status == 200 else f"answered {status}", 3)

    with mock.patch("webhooks.services.post", side_effect=post):
        yield mock.Mock(calls=calls, answers=answers)


def subscribe(project, events=None, url=HOOK):
    return services.create_subscription(project=project, url=url, events=events)


def run(project, capture, tasks=None, **kwargs):
    workflow = WorkflowFactory(project=project, tasks=tasks or [{"name": "answer", "type": "response", "config": {"value": 42}}])
    return ExecutionFactory(workflow=workflow, run=True, **kwargs)


def test_a_finished_execution_is_delivered_signed_as_standard_webhooks_says(project_a, public_dns, sent,
                                                                             django_capture_on_commit_callbacks):
    subscription, secret = subscribe(project_a, ["execution.succeeded"])
    execution = run(project_a, django_capture_on_commit_callbacks)
    delivery = Delivery.objects.get(subscription=subscription)
    assert (delivery.event, delivery.status, delivery.attempts) == ("execution.succeeded", "succeeded", 1)
    [call] = sent.calls
    headers = call["headers"]
    assert headers["webhook-id"] == str(delivery.id)
    assert verify(secret, headers["webhook-id"], headers["webhook-timestamp"], call["body"], headers["webhook-signature"])
    assert delivery.payload["data"]["execution"]["id"] == str(execution.id)
    assert delivery.payload["data"]["execution"]["return_value"] == 42
    attempt = delivery.attempt_rows.get()
    assert (attempt.status_code, attempt.succeeded, attempt.response_excerpt) == (200, True, "ok")


def test_an_execution_nobody_subscribed_to_writes_nothing(project_a, sent, django_capture_on_commit_callbacks):
    run(project_a, django_capture_on_commit_callbacks)
    assert not Delivery.objects.exists() and sent.calls == []


def test_a_failing_receiver_is_retried_with_back_off_then_shown_not_disabled(project_a, public_dns, sent, settings,
                                                                             django_capture_on_commit_callbacks):
    settings.FLOWGATE_WEBHOOK_RETRY_BASE_SECONDS = 10
    subscription, _ = subscribe(project_a)
    sent.answers.extend([500, 500])
    real = services.enqueue_on_commit
    retry = mock.Mock()

    def hold_back_retries(name, *args, **options):  # the back-off message is held back
        (retry if "countdown" in options else real)(name, *args, **options)

    with mock.patch("webhooks.services.enqueue_on_commit", side_effect=hold_back_retries):
        run(project_a, django_capture_on_commit_callbacks)
        delivery = Delivery.objects.get(subscription=subscription)
        assert (delivery.status, delivery.attempts) == ("pending", 1)
        delay = retry.call_args.kwargs["countdown"]
        assert 5 <= delay <= 10  # equal jitter: half the base, plus up to half again
        # The window closes before the next delay: it gives up, and the subscription shows it.
        Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now(),
                                                       retry_until=timezone.now() + timedelta(seconds=1))
        assert services.send_delivery(delivery.id)
    delivery.refresh_from_db()
    subscription.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.FAILED, 2)
    assert [a.status_code for a in delivery.attempt_rows.all()] == [500, 500]
    assert subscription.enabled and subscription.failing_since is not None and subscription.failed_deliveries == 1
    assert "answered 500" in subscription.last_failure


def test_a_refused_address_is_not_retried(project_a, settings, django_capture_on_commit_callbacks):
    subscription = Subscription.objects.create(tenant=project_a.tenant, project=project_a, url="http://127.0.0.1:9/x",
                                               events=["execution.succeeded"], secret="whsec_AAAA")
    run(project_a, django_capture_on_commit_callbacks)
    delivery = Delivery.objects.get(subscription=subscription)
    assert delivery.status == "failed"
    assert "refused" in delivery.attempt_rows.get().error


def test_the_sweeper_sends_what_a_lost_message_left(project_a, public_dns, sent, django_capture_on_commit_callbacks):
    subscription, _ = subscribe(project_a)
    with mock.patch("webhooks.services.enqueue_on_commit"):
        run(project_a, django_capture_on_commit_callbacks)
    assert sent.calls == []
    with django_capture_on_commit_callbacks(execute=True):
        assert services.send_due_deliveries(timezone.now()) == 1
    assert Delivery.objects.get(subscription=subscription).status == "succeeded"


def test_approval_events_are_delivered(project_a, public_dns, sent, django_capture_on_commit_callbacks):
    subscription, _ = subscribe(project_a, ["approval.requested"])
    run(project_a, django_capture_on_commit_callbacks, tasks=[{"name": "ok", "type": "approval", "config": {}}])
    delivery = Delivery.objects.get(subscription=subscription)
    assert delivery.event == "approval.requested"
    assert delivery.payload["data"]["status"] == "pending"


def test_a_callback_url_needs_the_project_s_callback_secret(workflow_api, project_a, public_dns, sent,
                                                           django_capture_on_commit_callbacks):
    WorkflowFactory(project=project_a, tasks=[{"name": "a", "type": "response", "config": {"value": 1}}], alias="cb")
    body = {"workflow": "cb", "callback_url": "https://client.example.com/done"}
    refused = workflow_api.post("/api/v1/executions/", body, format="json")
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["field"] == "callback_url"
    created = workflow_api.post("/api/v1/callback-secrets/", {}, format="json")
    assert created.status_code == 201 and created.json()["secret"].startswith("whsec_")
    with django_capture_on_commit_callbacks(execute=True):
        started = workflow_api.post("/api/v1/executions/", body, format="json")
    assert started.status_code == 201, started.json()
    [call] = sent.calls
    assert call["url"] == "https://client.example.com/done"
    headers = call["headers"]
    assert verify(created.json()["secret"], headers["webhook-id"], headers["webhook-timestamp"], call["body"],
                  headers["webhook-signature"])
    assert workflow_api.get("/api/v1/webhooks/").json()["items"] == []  # a one-off callback is no subscription


def test_a_rotated_secret_signs_beside_the_old_one_for_a_while(project_a, public_dns, sent,
                                                              django_capture_on_commit_callbacks):
    subscription, old = subscribe(project_a)
    new = services.rotate_subscription_secret(subscription)
    run(project_a, django_capture_on_commit_callbacks)
    headers, body = sent.calls[0]["headers"], sent.calls[0]["body"]
    for secret in (old, new):
        assert verify(secret, headers["webhook-id"], headers["webhook-timestamp"], body, headers["webhook-signature"])


def test_the_api_shows_the_secret_once_and_redelivers(admin_api, project_a, public_dns, sent,
                                                      django_capture_on_commit_callbacks):
    response = admin_api.post("/api/v1/webhooks/", {"url": HOOK, "events": ["execution.succeeded"]}, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["secret"].startswith("whsec_")
    subscription_id = response.json()["id"]
    shown = admin_api.get(f"/api/v1/webhooks/{subscription_id}/").json()
    assert "secret" not in shown and shown["status"] == "healthy"
    rotated = admin_api.post(f"/api/v1/webhooks/{subscription_id}/rotate-secret/")
    assert rotated.status_code == 200 and rotated.json()["secret"] != response.json()["secret"]
    run(project_a, django_capture_on_commit_callbacks)
    deliveries = admin_api.get(f"/api/v1/webhooks/{subscription_id}/deliveries/")
    [first] = deliveries.json()["items"]
    with django_capture_on_commit_callbacks(execute=True):
        again = admin_api.post(f"/api/v1/webhook-deliveries/{first['id']}/redeliver/")
    assert again.status_code == 202 and again.json()["redelivery_of"] == first["id"]
    assert len(sent.calls) == 2 and sent.calls[0]["headers"]["webhook-id"] != sent.calls[1]["headers"]["webhook-id"]
    detail = admin_api.get(f"/api/v1/webhook-deliveries/{first['id']}/")
    assert detail.json()["attempt_rows"][0]["status_code"] == 200


@pytest.mark.parametrize(("body", "field"), [
    ({"url": "ftp://x.example.com"}, "url"),
    ({"url": HOOK, "events": ["execution.exploded"]}, "events"),
    ({"url": HOOK, "events": []}, "events"),
])
def test_it_refuses_bad_subscriptions_with_400(admin_api, project_a, public_dns, body, field):
    response = admin_api.post("/api/v1/webhooks/", body, format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"].startswith(field)


def test_it_refuses_a_private_address_unless_allowed(admin_api, project_a, settings):
    body = {"url": "http://127.0.0.1:8000/hook"}
    response = admin_api.post("/api/v1/webhooks/", body, format="json")
    assert response.status_code == 400 and "FLOWGATE_HTTP_ALLOW_PRIVATE" in response.json()["errors"][0]["message"]
    settings.FLOWGATE_HTTP_ALLOW_PRIVATE = True
    assert admin_api.post("/api/v1/webhooks/", body, format="json").status_code == 201


def test_roles_and_tenants(viewer_api, outsider_api, admin_api, project_a, public_dns):
    subscription, _ = subscribe(project_a)
    assert viewer_api.get("/api/v1/webhooks/").status_code == 403
    assert outsider_api.get(f"/api/v1/webhooks/{subscription.id}/").status_code == 404
    assert outsider_api.post(f"/api/v1/webhooks/{subscription.id}/rotate-secret/").status_code == 404
    assert outsider_api.get("/api/v1/webhooks/").json()["items"] == []
    delivery = Delivery.objects.create(tenant=project_a.tenant, project=project_a, subscription=subscription,
                                       event="execution.failed", payload={}, retry_until=timezone.now())
    assert outsider_api.post(f"/api/v1/webhook-deliveries/{delivery.id}/redeliver/").status_code == 404
    assert not CallbackSecret.objects.exists()


@pytest.mark.parametrize("count", [2, 20])
def test_the_lists_cost_the_same_queries_whatever_their_size(admin_api, project_a, public_dns, count,
                                                             django_assert_max_num_queries):
    for index in range(count):
        subscription, _ = subscribe(project_a, url=f"{HOOK}/{index}")
        Delivery.objects.create(tenant=project_a.tenant, project=project_a, subscription=subscription,
                                event="execution.failed", payload={}, retry_until=timezone.now())
    # key look-up, key last_used_at (first use), COUNT, page
    with django_assert_max_num_queries(4):
        assert admin_api.get("/api/v1/webhooks/?limit=50").json()["total"] == count
    # key look-up, COUNT, page with the subscriptions joined
    with django_assert_max_num_queries(3):
        assert admin_api.get("/api/v1/webhook-deliveries/?limit=50").json()["total"] == count


class _Receiver(BaseHTTPRequestHandler):
    """A receiver on 127.0.0.1: /moved answers 302 to /elsewhere; every path it is asked is noted."""

    asked: list[str] = []

    def do_POST(self):  # noqa: N802 (http.server's name)
        self.asked.append(self.path)
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path == "/moved":
            self.send_response(302)
            self.send_header("Location", "/elsewhere")
            self.end_headers()
            return
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver():
    _Receiver.asked = []
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()


def test_a_redirect_is_not_followed_and_counts_as_a_failed_attempt(settings, receiver):
    settings.FLOWGATE_HTTP_ALLOW_PRIVATE = True
    answer = services.post(f"http://127.0.0.1:{receiver}/moved", b"{}", {"Content-Type": "application/json"}, 5)
    assert (answer.status_code, answer.error) == (302, "answered 302")
    assert _Receiver.asked == ["/moved"]  # never /elsewhere


def test_a_name_that_resolves_public_then_private_is_not_reached(receiver, monkeypatch):
    """DNS rebinding: the check saw a public address; the connection must not reach loopback."""
    real, calls = socket.getaddrinfo, []

    def rebinding(host, *args, **kwargs):
        if host != "rebind.example":
            return real(host, *args, **kwargs)
        calls.append(host)
        return real("93.184.216.34" if len(calls) == 1 else "127.0.0.1", *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    answer = services.post(f"http://rebind.example:{receiver}/hook", b"{}", {}, 5)
    assert answer.status_code is None and "127.0.0.1" in answer.error and not answer.retryable
    assert _Receiver.asked == []


def test_a_cancelled_execution_and_a_decided_approval_are_delivered(project_a, public_dns, sent,
                                                                     django_capture_on_commit_callbacks):
    subscription, _ = subscribe(project_a, ["execution.cancelled", "approval.decided"])
    waiting = run(project_a, django_capture_on_commit_callbacks, tasks=[{"name": "ok", "type": "approval", "config": {}}])
    approval = Approval.objects.get(execution=waiting)
    with django_capture_on_commit_callbacks(execute=True):
        decide_approval(approval, key_caller(project_a.tenant, "approver", name="reviewer"), "approve")
    parked = run(project_a, django_capture_on_commit_callbacks,
                 tasks=[{"name": "nap", "type": "delay", "config": {"seconds": 3600}}])
    with django_capture_on_commit_callbacks(execute=True):
        cancel_execution(parked)
    events = {d.event: d for d in Delivery.objects.filter(subscription=subscription)}
    assert set(events) == {"approval.decided", "execution.cancelled"}
    assert events["approval.decided"].payload["data"]["status"] == "approved"
    assert events["approval.decided"].payload["data"]["decided_by"] == "key:reviewer"
    assert events["execution.cancelled"].payload["data"]["execution"]["id"] == str(parked.id)
    assert all(d.status == "succeeded" for d in events.values())
