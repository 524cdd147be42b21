"""Subscribing to events, signing and sending deliveries, retrying and redelivering them.

The only functions that write webhooks' rows. Deliveries are written in the transaction of the
event (the engine's ``execution_finished``, a feature's ``feature_event``) and sent by a worker
after it commits (``flowgate.send_webhook``); the sweeper sends again what a lost message or a
dead worker left pending. Each attempt is recorded; a delivery that keeps failing is retried with
exponential back-off and jitter until FLOWGATE_WEBHOOK_RETRY_WINDOW_SECONDS after the event, then
gives up and its subscription shows it (``failing_since``): nothing is disabled.
"""

from __future__ import annotations

import json
import logging
import random
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from rest_framework.exceptions import ValidationError

from accounts.caller import Caller
from accounts.models import Project
from accounts.scoping import get_for_caller
from config.formats import iso
from executions.executors import PrivateAddressRefused, check_public_address, check_public_host, public_opener
from executions.models import Execution
from executions.queue import enqueue_on_commit
from webhooks.models import (
    EVENTS,
    EXECUTION_EVENTS,
    CallbackSecret,
    Delivery,
    DeliveryAttempt,
    DeliveryStatus,
    Subscription,
)
from webhooks.signing import generate_secret, signature_header

logger = logging.getLogger("flowgate.webhooks")

SEND_DELIVERY = "flowgate.send_webhook"
SUBSCRIPTION_NOT_FOUND = "Webhook subscription not found."
DELIVERY_NOT_FOUND = "Webhook delivery not found."
# Bytes of an answer kept on an attempt: enough to see an error message.
EXCERPT_BYTES = 1024
# A claimed delivery goes back to the sweeper this long after its attempt's time-out.
CLAIM_GRACE_SECONDS = 30
# Deliveries the sweeper sends again per pass; the next pass takes the rest.
RESEND_BATCH = 200


# -- reading ---------------------------------------------------------------------------------------------
def get_subscription_for(caller: Caller | None, subscription_id, queryset=None) -> Subscription:
    queryset = queryset if queryset is not None else Subscription.objects.all()
    return get_for_caller(queryset.filter(execution__isnull=True), caller, SUBSCRIPTION_NOT_FOUND, pk=subscription_id)


def get_delivery_for(caller: Caller | None, delivery_id, queryset=None) -> Delivery:
    queryset = queryset if queryset is not None else Delivery.objects.all()
    return get_for_caller(queryset, caller, DELIVERY_NOT_FOUND, pk=delivery_id)


# -- addresses -------------------------------------------------------------------------------------------
def check_target_url(url: str, *, field: str = "url", resolve: bool = True) -> str:
    """An http(s) URL whose host the ``http`` task's address rules allow; ValidationError otherwise.

    ``resolve`` looks the name up (a subscription); without it only a literal address is checked
    (a start request's callback, checked again with DNS at every attempt).
    """
    parsed = urllib.parse.urlsplit(str(url))
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise ValidationError({field: [f"Must be an http:// or https:// URL with a host, not {url!r}."]})
    try:
        if resolve:
            check_public_host(parsed.hostname)
        else:
            try:
                check_public_address(parsed.hostname, parsed.hostname)
            except ValueError:
                pass  # a name, not an address: checked when sending
    except PrivateAddressRefused as exc:
        raise ValidationError({field: [str(exc)]}) from None
    return str(url)


def check_events(events: Any) -> list[str]:
    if not isinstance(events, list) or not events or any(event not in EVENTS for event in events):
        raise ValidationError({"events": [f"A non-empty list of: {', '.join(EVENTS)}."]})
    return sorted(set(events), key=EVENTS.index)


# -- subscriptions and secrets ------------------------------------------------------------------------------
def create_subscription(*, project: Project, url: str, events: list[str] | None = None, description: str = "",
                        enabled: bool = True, caller: Caller | None = None) -> tuple[Subscription, str]:
    """A subscription of the project's events (all of them by default); answers it and its secret."""
    now = timezone.now()
    secret = generate_secret()
    subscription = Subscription.objects.create(
        tenant_id=project.tenant_id, project=project, url=check_target_url(url),
        events=check_events(events if events is not None else list(EVENTS)), description=description,
        enabled=enabled, secret=secret, created_at=now, updated_at=now,
        created_by_label=caller.label if caller is not None else "system")
    return subscription, secret


def update_subscription(subscription: Subscription, **changes: Any) -> Subscription:
    allowed = {"url", "events", "description", "enabled"}
    if set(changes) - allowed:
        raise ValueError(f"Cannot change {', '.join(sorted(set(changes) - allowed))} of a subscription.")
    if "url" in changes:
        changes["url"] = check_target_url(changes["url"])
    if "events" in changes:
        changes["events"] = check_events(changes["events"])
    for name, value in changes.items():
        setattr(subscription, name, value)
    subscription.updated_at = timezone.now()
    subscription.save(update_fields=[*changes, "updated_at"])
    return subscription


def _rotate(holder: Subscription | CallbackSecret, now: datetime) -> str:
    secret = generate_secret()
    if holder.secret:
        holder.previous_secret = holder.secret
        holder.previous_secret_expires_at = now + timedelta(seconds=settings.FLOWGATE_WEBHOOK_SECRET_GRACE_SECONDS)
    holder.secret = secret
    return secret


def rotate_subscription_secret(subscription: Subscription) -> str:
    """A new secret (answered once); the previous one keeps signing for FLOWGATE_WEBHOOK_SECRET_GRACE_SECONDS."""
    with transaction.atomic():
        locked = Subscription.objects.select_for_update().get(pk=subscription.pk)
        now = timezone.now()
        secret = _rotate(locked, now)
        locked.updated_at = now
        locked.save(update_fields=["secret", "previous_secret", "previous_secret_expires_at", "updated_at"])
    subscription.previous_secret_expires_at = locked.previous_secret_expires_at
    subscription.updated_at = locked.updated_at
    return secret


def delete_subscription(subscription: Subscription) -> None:
    subscription.delete()


def rotate_callback_secret(project: Project) -> tuple[CallbackSecret, str]:
    """Create the project's callback secret, or replace it (the previous one signs for a while); answered once."""
    with transaction.atomic():
        holder, _ = CallbackSecret.objects.select_for_update().get_or_create(
            project=project, defaults={"tenant_id": project.tenant_id})
        now = timezone.now()
        secret = _rotate(holder, now)
        holder.rotated_at = now
        holder.save()
    return holder, secret


def link_callback(execution: Execution, url: str, caller: Caller | None) -> Subscription:
    """The ``callback_url`` start option: the execution's end is delivered to ``url``, signed with the
    project's callback secret (a 400 until the project has one)."""
    url = check_target_url(url, field="callback_url", resolve=False)
    if not CallbackSecret.objects.filter(project_id=execution.project_id).exists():
        raise ValidationError({"callback_url": [
            "This project has no callback secret to sign callbacks with; create one with "
            "POST /api/v1/callback-secrets/ (admin or workflow role) and keep it to verify them."]})
    return Subscription.objects.create(tenant_id=execution.tenant_id, project_id=execution.project_id,
                                       execution=execution, url=url, events=list(EXECUTION_EVENTS),
                                       created_by_label=caller.label if caller is not None else "system")


# -- queuing ---------------------------------------------------------------------------------------------
def execution_data(execution: Execution) -> dict:
    """An execution as its events show it (from the row in hand: no query)."""
    return {
        "id": str(execution.id), "project": str(execution.project_id),
        "workflow": str(execution.workflow_id) if execution.workflow_id else None,
        "status": execution.status, "return_value": execution.return_value, "errors": execution.errors,
        "tags": execution.tags, "linked_account_id": execution.linked_account_id,
        "started_by": execution.started_by_label, "attempt": execution.attempt,
        "created_at": iso(execution.created_at), "started_at": iso(execution.started_at),
        "ended_at": iso(execution.ended_at),
    }


def queue_execution_event(execution: Execution, **kwargs) -> int:
    """``execution_finished`` receiver: a delivery per subscriber of ``execution.<status>``, sent after commit.

    One read per finished execution (the project's subscriptions and the execution's own callback
    together); nothing per step.
    """
    return _queue(execution, f"execution.{execution.status}", {"execution": execution_data(execution)})


def queue_feature_event(name: str, execution: Execution, data: dict, **kwargs) -> int:
    """``feature_event`` receiver: deliveries of the events subscriptions can name (approvals')."""
    if name not in EVENTS:
        return 0
    return _queue(execution, name, {**data, "execution": execution_data(execution)})


def _queue(execution: Execution, event: str, data: dict) -> int:
    targets = [sub for sub in Subscription.objects.filter(
        Q(project_id=execution.project_id, execution__isnull=True) | Q(execution_id=execution.pk), enabled=True,
    ).only("id", "url", "events") if event in sub.events]
    if not targets:
        return 0
    now = timezone.now()
    payload = {"type": event, "timestamp": iso(now), "data": data}
    retry_until = now + timedelta(seconds=settings.FLOWGATE_WEBHOOK_RETRY_WINDOW_SECONDS)
    deliveries = Delivery.objects.bulk_create([
        Delivery(tenant_id=execution.tenant_id, project_id=execution.project_id, subscription_id=sub.id,
                 execution_id=execution.pk, event=event, payload=payload, next_attempt_at=now,
                 retry_until=retry_until, created_at=now)
        for sub in targets])
    for delivery in deliveries:
        enqueue_on_commit(SEND_DELIVERY, str(delivery.id))
    return len(deliveries)


def redeliver(delivery: Delivery) -> Delivery:
    """Send a delivery's event again as a new delivery (a new ``webhook-id``), to the subscription's URL now."""
    now = timezone.now()
    with transaction.atomic():
        again = Delivery.objects.create(
            tenant_id=delivery.tenant_id, project_id=delivery.project_id, subscription_id=delivery.subscription_id,
            execution_id=delivery.execution_id, event=delivery.event, payload=delivery.payload, next_attempt_at=now,
            retry_until=now + timedelta(seconds=settings.FLOWGATE_WEBHOOK_RETRY_WINDOW_SECONDS), created_at=now,
            redelivery_of=delivery)
        enqueue_on_commit(SEND_DELIVERY, str(again.id))
    return again


def send_due_deliveries(now: datetime) -> int:
    """The sweeper's pass: send again the pending deliveries whose time has come (a message was lost)."""
    due = list(Delivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
               .order_by("next_attempt_at").values_list("id", flat=True)[:RESEND_BATCH])
    for delivery_id in due:
        enqueue_on_commit(SEND_DELIVERY, str(delivery_id))
    return len(due)


# -- sending ---------------------------------------------------------------------------------------------
@dataclass
class Answer:
    status_code: int | None
    excerpt: str
    error: str
    latency_ms: int
    retryable: bool = True

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def retry_delay(attempt: int) -> float:
    """Seconds before the attempt after ``attempt`` (1-based): exponential, capped, with equal jitter."""
    base = float(settings.FLOWGATE_WEBHOOK_RETRY_BASE_SECONDS)
    delay = min(base * (2 ** (attempt - 1)), float(settings.FLOWGATE_WEBHOOK_RETRY_MAX_SECONDS))
    return delay / 2 + random.uniform(0, delay / 2)


def _signing_secrets(delivery: Delivery, now: datetime) -> list[str]:
    subscription = delivery.subscription
    if subscription.execution_id is None:
        return subscription.signing_secrets(now)
    holder = CallbackSecret.objects.filter(project_id=delivery.project_id).first()
    return holder.signing_secrets(now) if holder is not None else []


def send_delivery(delivery_id) -> bool:
    """Claim a due delivery, send it once (outside any transaction) and record the attempt; False when
    there was nothing to send (already sent, or another worker has it)."""
    now = timezone.now()
    timeout = float(settings.FLOWGATE_WEBHOOK_TIMEOUT_SECONDS)
    claimed = Delivery.objects.filter(
        pk=delivery_id, status=DeliveryStatus.PENDING, next_attempt_at__lte=now + timedelta(seconds=1),
    ).update(next_attempt_at=now + timedelta(seconds=timeout + CLAIM_GRACE_SECONDS), attempts=F("attempts") + 1,
             last_attempt_at=now)
    if not claimed:
        return False
    delivery = Delivery.objects.select_related("subscription").get(pk=delivery_id)
    body = json.dumps(delivery.payload, separators=(",", ":"), sort_keys=True).encode()
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Flowgate-Webhooks/1",
        "webhook-id": str(delivery.id),
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature_header(_signing_secrets(delivery, now), str(delivery.id), timestamp, body),
    }
    url = delivery.subscription.url
    answer = post(url, body, headers, timeout)
    record_attempt(delivery, answer, now)
    return True


def post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> Answer:
    """POST ``body`` under the ``http`` task's address rules (no private peers unless allowed, no redirects)."""
    started = time.monotonic()

    def answer(status_code=None, excerpt="", error="", retryable=True) -> Answer:
        return Answer(status_code, excerpt, error[:500], int((time.monotonic() - started) * 1000), retryable)

    hostname = urllib.parse.urlsplit(url).hostname or ""
    try:
        check_public_host(hostname)
        request = urllib.request.Request(url, data=body, method="POST", headers=headers)
        try:
            response = public_opener().open(request, timeout=timeout)
        except urllib.error.HTTPError as exc:
            response = exc
        with response:
            status = response.status if hasattr(response, "status") else response.code
            excerpt = response.read(EXCERPT_BYTES).decode("utf-8", errors="replace")
        return answer(status, excerpt, "" if 200 <= status < 300 else f"answered {status}")
    except PrivateAddressRefused as exc:
        return answer(error=f"refused: {exc}", retryable=False)
    except (urllib.error.URLError, TimeoutError, OSError, ValueError) as exc:
        return answer(error=f"{exc.__class__.__name__}: {getattr(exc, 'reason', exc)}")


def record_attempt(delivery: Delivery, answer: Answer, started_at: datetime) -> None:
    """Write the attempt, then: done; another attempt later (back-off, after commit); or give up."""
    now = timezone.now()
    number = delivery.attempts
    with transaction.atomic():
        DeliveryAttempt.objects.create(
            delivery=delivery, number=number, started_at=started_at, status_code=answer.status_code,
            latency_ms=answer.latency_ms, response_excerpt=answer.excerpt, error=answer.error,
            succeeded=answer.succeeded)
        current = Delivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.PENDING, attempts=number)
        subscriptions = Subscription.objects.filter(pk=delivery.subscription_id)
        if answer.succeeded:
            current.update(status=DeliveryStatus.SUCCEEDED, succeeded_at=now, next_attempt_at=None)
            subscriptions.update(last_success_at=now, failing_since=None, failed_deliveries=0)
            return
        delay = retry_delay(number)
        subscriptions.update(last_failure_at=now, last_failure=f"delivery {delivery.id}: {answer.error}"[:500])
        if answer.retryable and now + timedelta(seconds=delay) <= delivery.retry_until:
            if current.update(next_attempt_at=now + timedelta(seconds=delay)):
                enqueue_on_commit(SEND_DELIVERY, str(delivery.id), countdown=delay)
            return
        if current.update(status=DeliveryStatus.FAILED, next_attempt_at=None):
            logger.warning("webhook delivery %s to %s gave up after %s attempt(s): %s", delivery.id,
                           delivery.subscription.url, number, answer.error)
            subscriptions.filter(failing_since__isnull=True).update(failing_since=now)
            subscriptions.update(failed_deliveries=F("failed_deliveries") + 1)
