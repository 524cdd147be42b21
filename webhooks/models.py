"""Webhooks: subscriptions to events, one-off callbacks, and each delivery with its attempts."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone

from accounts.models import Project, Tenant, scoped_queryset
from executions.models import Execution

EXECUTION_EVENTS = ("execution.succeeded", "execution.failed", "execution.cancelled")
APPROVAL_EVENTS = ("approval.requested", "approval.decided")
EVENTS = (*EXECUTION_EVENTS, *APPROVAL_EVENTS)


class SigningSecret(models.Model):
    """A Standard Webhooks secret (``whsec_<base64>``); after a rotation the previous one also signs for a while."""

    secret = models.CharField(max_length=100, blank=True, default="")
    previous_secret = models.CharField(max_length=100, blank=True, default="")
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True

    def signing_secrets(self, now) -> list[str]:
        secrets = [self.secret] if self.secret else []
        if self.previous_secret and self.previous_secret_expires_at and self.previous_secret_expires_at > now:
            secrets.append(self.previous_secret)
        return secrets


class Subscription(SigningSecret):
    """A URL told about a project's events; or, with ``execution`` set, one execution's one-off callback.

    A one-off callback (a start request's ``callback_url``) is signed with its project's
    ``CallbackSecret``. Deliveries that keep failing disable nothing: ``failing_since`` shows it.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="webhook_subscriptions")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="webhook_subscriptions")
    execution = models.ForeignKey(Execution, on_delete=models.CASCADE, null=True, blank=True,
                                  related_name="webhook_callbacks", help_text="Set for a one-off callback.")
    url = models.URLField(max_length=2000)
    events = models.JSONField(default=list, blank=True)
    description = models.CharField(max_length=300, blank=True, default="")
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    created_by_label = models.CharField(max_length=200, blank=True, default="")
    # Delivery health, written after every attempt.
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_failure_at = models.DateTimeField(null=True, blank=True)
    last_failure = models.CharField(max_length=500, blank=True, default="")
    failing_since = models.DateTimeField(null=True, blank=True,
                                         help_text="Set when a delivery gave up; cleared by the next success.")
    failed_deliveries = models.PositiveIntegerField(default=0, help_text="Deliveries that gave up since the last success.")

    objects = scoped_queryset(project_field="project").as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["project", "enabled"]),
            # The lists, newest first, which one-off callbacks (one per execution) make long: a
            # tenant's subscriptions (GET /api/v1/webhooks/, callbacks left out) and the admin's.
            models.Index(fields=["tenant", "-created_at", "-id"], condition=models.Q(execution__isnull=True),
                         name="subscription_tenant_order"),
            models.Index(fields=["-created_at", "-id"], name="subscription_admin_order"),
        ]

    def __str__(self) -> str:
        return self.url


class CallbackSecret(SigningSecret):
    """The secret that signs a project's one-off callbacks."""

    project = models.OneToOneField(Project, on_delete=models.CASCADE, primary_key=True, related_name="callback_secret")
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="callback_secrets")
    created_at = models.DateTimeField(default=timezone.now)
    rotated_at = models.DateTimeField(default=timezone.now)

    objects = scoped_queryset(project_field="project").as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"callback secret of {self.project_id}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending"  # waiting for its next attempt
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # gave up: retries exhausted or a refused address


class Delivery(models.Model):
    """One event for one subscription; its id is the ``webhook-id`` every attempt sends."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="webhook_deliveries")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="webhook_deliveries")
    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="deliveries")
    execution = models.ForeignKey(Execution, on_delete=models.CASCADE, null=True, blank=True,
                                  related_name="webhook_deliveries")
    event = models.CharField(max_length=40)
    payload = models.JSONField()
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    # When a worker may send it next; a worker that claims it moves this past its attempt's time-out,
    # so a delivery whose worker died is sent again by the sweeper.
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    retry_until = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    succeeded_at = models.DateTimeField(null=True, blank=True)
    redelivery_of = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True,
                                      related_name="redeliveries")

    objects = scoped_queryset(project_field="project").as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "deliveries"
        indexes = [
            models.Index(fields=["status", "next_attempt_at"]),
            # The lists, newest first: a tenant's (GET /api/v1/webhook-deliveries/), a subscription's
            # (GET /api/v1/webhooks/{id}/deliveries/), and the admin's, alone and by status.
            models.Index(fields=["tenant", "-created_at", "-id"], name="delivery_tenant_order"),
            models.Index(fields=["subscription", "-created_at", "-id"], name="delivery_subscription_order"),
            models.Index(fields=["-created_at", "-id"], name="delivery_admin_order"),
            models.Index(fields=["status", "-created_at", "-id"], name="delivery_admin_status"),
            # A tenant's deliveries by status (?status=failed: its pages and capped count from the index
            # alone), and the admin's by event.
            models.Index(fields=["tenant", "status", "-created_at", "-id"], name="delivery_tenant_status"),
            models.Index(fields=["event", "-created_at", "-id"], name="delivery_admin_event"),
        ]

    def __str__(self) -> str:
        return f"{self.event} {self.id} ({self.status})"


class DeliveryAttempt(models.Model):
    """One HTTP request of a delivery: what came back, how long it took."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_rows")
    number = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    status_code = models.PositiveIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField(default=0)
    response_excerpt = models.TextField(blank=True, default="")
    error = models.CharField(max_length=500, blank=True, default="")
    succeeded = models.BooleanField(default=False)

    class Meta:
        ordering = ["delivery", "number"]

    def __str__(self) -> str:
        return f"attempt {self.number} of {self.delivery_id}"
