"""Native webhook serializers."""

from __future__ import annotations

from rest_framework import serializers

from accounts.models import Project
from config.fields import TRUTH_FIELD_MAPPING
from webhooks.models import EVENTS, CallbackSecret, Delivery, DeliveryAttempt, Subscription


class SubscriptionSerializer(serializers.ModelSerializer):
    serializer_field_mapping = TRUTH_FIELD_MAPPING  # enabled, required: true/false words as everywhere
    project = serializers.PrimaryKeyRelatedField(queryset=Project.objects.all(), required=False,
                                                 help_text="Defaults to the caller's only project.")
    events = serializers.ListField(child=serializers.ChoiceField(choices=EVENTS), required=False, allow_empty=False,
                                   help_text="The events to deliver; all of them by default.")
    status = serializers.SerializerMethodField(help_text="failing once a delivery gave up, until one succeeds.")
    created_by = serializers.CharField(source="created_by_label", read_only=True)

    class Meta:
        model = Subscription
        fields = ["id", "project", "url", "events", "description", "enabled", "status", "failing_since",
                  "failed_deliveries", "last_failure", "last_failure_at", "last_success_at",
                  "previous_secret_expires_at", "created_by", "created_at", "updated_at"]
        read_only_fields = ["id", "failing_since", "failed_deliveries", "last_failure", "last_failure_at",
                            "last_success_at", "previous_secret_expires_at", "created_at", "updated_at"]

    def get_fields(self):
        fields = super().get_fields()
        request = self.context.get("request")
        if request is not None and request.auth is not None:
            fields["project"].queryset = Project.objects.for_caller(request.auth)
        return fields

    def get_status(self, subscription) -> str:
        return "failing" if subscription.failing_since else "healthy"

    def validate_project(self, project):
        if self.instance is not None and project != self.instance.project:
            raise serializers.ValidationError("A subscription cannot move to another project; create a new one.")
        return project


class SubscriptionWithSecretSerializer(SubscriptionSerializer):
    secret = serializers.CharField(read_only=True, help_text="Shown once: keep it to verify signatures.")

    class Meta(SubscriptionSerializer.Meta):
        fields = [*SubscriptionSerializer.Meta.fields, "secret"]


class SecretSerializer(serializers.Serializer):
    secret = serializers.CharField(help_text="The new secret, shown once.")
    previous_secret_expires_at = serializers.DateTimeField(
        allow_null=True, help_text="Until then the previous secret also signs every delivery.")


class CallbackSecretSerializer(serializers.ModelSerializer):
    class Meta:
        model = CallbackSecret
        fields = ["project", "created_at", "rotated_at", "previous_secret_expires_at"]
        read_only_fields = fields


class CallbackSecretRequestSerializer(serializers.Serializer):
    project = serializers.PrimaryKeyRelatedField(queryset=Project.objects.all(), required=False,
                                                 help_text="Defaults to the caller's only project.")

    def get_fields(self):
        fields = super().get_fields()
        request = self.context.get("request")
        if request is not None and request.auth is not None:
            fields["project"].queryset = Project.objects.for_caller(request.auth)
        return fields


class CallbackSecretCreatedSerializer(CallbackSecretSerializer):
    secret = serializers.CharField(read_only=True, help_text="Shown once: keep it to verify callbacks.")

    class Meta(CallbackSecretSerializer.Meta):
        fields = [*CallbackSecretSerializer.Meta.fields, "secret"]
        read_only_fields = fields


class DeliveryAttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = DeliveryAttempt
        fields = ["number", "started_at", "status_code", "latency_ms", "response_excerpt", "error", "succeeded"]
        read_only_fields = fields


class DeliverySerializer(serializers.ModelSerializer):
    url = serializers.CharField(source="subscription.url", read_only=True)
    callback = serializers.SerializerMethodField(help_text="True for a start request's one-off callback_url.")

    class Meta:
        model = Delivery
        fields = ["id", "subscription", "callback", "url", "execution", "event", "status", "attempts",
                  "next_attempt_at", "retry_until", "created_at", "last_attempt_at", "succeeded_at", "redelivery_of"]
        read_only_fields = fields

    def get_callback(self, delivery) -> bool:
        return delivery.subscription.execution_id is not None


class DeliveryDetailSerializer(DeliverySerializer):
    attempt_rows = DeliveryAttemptSerializer(many=True, read_only=True)

    class Meta(DeliverySerializer.Meta):
        fields = [*DeliverySerializer.Meta.fields, "payload", "attempt_rows"]
        read_only_fields = fields
