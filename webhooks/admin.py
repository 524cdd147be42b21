"""Webhooks in the admin: subscriptions with their health, deliveries with every attempt, and redelivery."""

from __future__ import annotations

from django.contrib import admin, messages

from config.admin_views import LargeTableAdmin, ReadOnlyAdmin, ReadOnlyInline
from executions.admin import SearchByIdMixin
from webhooks import services
from webhooks.models import EVENTS, CallbackSecret, Delivery, DeliveryAttempt, Subscription


@admin.register(Subscription)
class SubscriptionAdmin(LargeTableAdmin):
    """Changed over the API (which checks each URL); here: health, and rotating a secret.

    A start request's ``callback_url`` adds a one-off subscription per execution, so the table
    grows with executions: its list is a large table's.
    """

    list_display = ["url", "project", "execution", "enabled", "health", "failed_deliveries", "last_failure_at",
                    "last_success_at"]
    list_filter = ["enabled", "tenant"]
    list_select_related = ["project__tenant", "execution"]
    search_fields = ["url", "description"]
    exclude = ["secret", "previous_secret"]
    actions = ["rotate_secrets"]

    @admin.display(description="health")
    def health(self, subscription: Subscription) -> str:
        return f"failing since {subscription.failing_since:%Y-%m-%d %H:%M} UTC" if subscription.failing_since else "healthy"

    @admin.action(description="Rotate the signing secret (shown once)")
    def rotate_secrets(self, request, queryset):
        for subscription in queryset.filter(execution__isnull=True):
            secret = services.rotate_subscription_secret(subscription)
            self.message_user(request, f"New secret of {subscription.url}: {secret}", messages.WARNING)


class DeliveryAttemptInline(ReadOnlyInline):
    model = DeliveryAttempt
    fields = ["number", "started_at", "status_code", "latency_ms", "error", "response_excerpt", "succeeded"]
    readonly_fields = fields


class EventFilter(admin.SimpleListFilter):
    """The events a subscription can name (``webhooks.models.EVENTS``), not a SELECT DISTINCT over every delivery."""

    title = "event"
    parameter_name = "event"

    def lookups(self, request, model_admin):
        return [(event, event) for event in EVENTS]

    def queryset(self, request, queryset):
        return queryset.filter(event=self.value()) if self.value() else queryset


@admin.register(Delivery)
class DeliveryAdmin(SearchByIdMixin, LargeTableAdmin):
    list_display = ["id", "event", "subscription", "status", "attempts", "created_at", "next_attempt_at",
                    "succeeded_at"]
    list_filter = ["status", EventFilter]
    list_select_related = ["subscription"]
    # An id (the delivery's, or its execution's) is found through an index; other terms search the URLs.
    search_fields = ["subscription__url"]
    id_search_fields = ("pk", "execution_id")
    # Newest first (index delivery_admin_order, or delivery_admin_status with the status filter).
    ordering = ["-created_at", "-id"]
    inlines = [DeliveryAttemptInline]
    actions = ["redeliver"]

    @admin.action(description="Redeliver the selected deliveries (each as a new delivery)")
    def redeliver(self, request, queryset):
        for delivery in queryset:
            services.redeliver(delivery)
        self.message_user(request, f"{queryset.count()} delivery(ies) queued again.", messages.SUCCESS)


@admin.register(CallbackSecret)
class CallbackSecretAdmin(ReadOnlyAdmin):
    list_display = ["project", "created_at", "rotated_at"]
    list_select_related = ["project__tenant"]
    exclude = ["secret", "previous_secret"]
