"""Shapes of the native accounts endpoints."""

from __future__ import annotations

from rest_framework import serializers

from accounts.models import Project, Role, Tenant


class TenantSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = Tenant
        fields = ["id", "slug", "name"]
        read_only_fields = fields


class MeSerializer(serializers.Serializer):
    """Who the credentials of this request belong to."""

    tenant = TenantSummarySerializer()
    role = serializers.ChoiceField(choices=Role.choices)
    user = serializers.CharField(allow_null=True, help_text="The username, when a person authenticated.")
    api_key = serializers.CharField(allow_null=True, help_text="The key's name, when an API key authenticated.")
    api_key_prefix = serializers.CharField(allow_null=True, help_text="The key's public prefix (never the secret).")
    project = serializers.UUIDField(
        allow_null=True, help_text="The only project this key reaches, or null when it reaches the whole tenant."
    )
    can_operate = serializers.BooleanField(help_text="May start, cancel and retry executions and edit workflows.")
    can_decide = serializers.BooleanField(help_text="May decide approvals (subject to each approval's own rules).")

    def to_representation(self, caller):
        key = caller.api_key
        return {
            "tenant": TenantSummarySerializer(caller.tenant).data,
            "role": caller.role,
            "user": caller.user.get_username() if caller.user is not None else None,
            "api_key": key.name if key is not None else None,
            "api_key_prefix": key.prefix if key is not None else None,
            "project": str(caller.project_id) if caller.project_id else None,
            "can_operate": caller.can_operate,
            "can_decide": caller.can_decide,
        }


class ProjectSerializer(serializers.ModelSerializer):
    tenant = serializers.UUIDField(source="tenant_id", read_only=True)

    class Meta:
        model = Project
        fields = ["id", "tenant", "slug", "name", "created_at"]
        read_only_fields = fields
