"""Native execution serializers."""

from __future__ import annotations

import uuid

from django.core.exceptions import ObjectDoesNotExist
from rest_framework import serializers

from config.formats import iso
from executions.models import Execution, Log, TaskRun


def _link(execution: Execution, name: str):
    """A feature's link row of the execution (read with it by the view's select_related), or None."""
    try:
        return getattr(execution, name)
    except (ObjectDoesNotExist, AttributeError):
        return None


class ExecutionSerializer(serializers.ModelSerializer):
    workflow_name = serializers.CharField(source="workflow.name", read_only=True, default=None, allow_null=True)
    workflow_version = serializers.IntegerField(source="workflow_version.number", read_only=True, default=None,
                                                allow_null=True)
    started_by = serializers.CharField(source="started_by_label", read_only=True)
    performed_by = serializers.SerializerMethodField()
    action = serializers.SerializerMethodField(help_text="The action it was started for (records' actions).")
    record = serializers.SerializerMethodField(help_text="The record it runs on (an action on a record).")
    flow_run = serializers.SerializerMethodField(help_text="The id of the Port flow run it reports to.")
    schedule = serializers.SerializerMethodField(help_text="The schedule that started it.")

    class Meta:
        model = Execution
        fields = ["id", "workflow", "workflow_name", "workflow_version", "status", "input", "return_value",
                  "errors", "tags", "linked_account_id", "started_by", "performed_by", "attempt", "parent",
                  "action", "record", "flow_run", "schedule", "created_at", "started_at", "ended_at"]
        read_only_fields = fields

    def get_action(self, execution) -> uuid.UUID | None:
        link = _link(execution, "action_link")
        return link.action_id if link is not None else None

    def get_record(self, execution) -> uuid.UUID | None:
        link = _link(execution, "action_link")
        return link.record_id if link is not None else None

    def get_flow_run(self, execution) -> str | None:
        link = _link(execution, "flow_run_link")
        return link.flow_run.run_id if link is not None else None

    def get_schedule(self, execution) -> uuid.UUID | None:
        link = _link(execution, "schedule_link")
        return link.schedule_id if link is not None else None

    def get_performed_by(self, execution) -> str | None:
        user = execution.performed_by
        return (user.email or user.get_username()) if user is not None else None


class ExecutionDetailSerializer(ExecutionSerializer):
    definition = serializers.SerializerMethodField(help_text="The definition this execution runs (its pinned version).")
    cancel_requested = serializers.BooleanField(read_only=True)

    class Meta(ExecutionSerializer.Meta):
        fields = [*ExecutionSerializer.Meta.fields, "cancel_requested", "definition"]
        read_only_fields = fields

    def get_definition(self, execution) -> dict:
        return execution.get_definition()


# What one execution's answer reads, as ``.values()`` lookups: the detail page of the API is read
# far more than anything else, so it is built from one query's values, without model instances or
# serializer fields (the serializers above describe the same shape for the API document).
_DETAIL_VALUES = ("id", "workflow_id", "workflow__name", "workflow_version__number", "status", "input",
                  "return_value", "errors", "tags", "linked_account_id", "started_by_label", "performed_by__email",
                  "performed_by__username", "attempt", "parent_id", "action_link__action_id",
                  "action_link__record_id", "flow_run_link__flow_run__run_id", "schedule_link__schedule_id", "created_at", "started_at",
                  "ended_at", "cancel_requested", "definition", "workflow_version__definition")


def execution_detail(queryset) -> dict | None:
    """``ExecutionDetailSerializer``'s answer for the one execution of ``queryset`` (None when there is none)."""
    row = queryset.values(*_DETAIL_VALUES).first()
    if row is None:
        return None
    definition = row["definition"] if row["definition"] is not None else row["workflow_version__definition"]
    return {
        "id": str(row["id"]),
        "workflow": str(row["workflow_id"]) if row["workflow_id"] else None,
        "workflow_name": row["workflow__name"],
        "workflow_version": row["workflow_version__number"],
        "status": row["status"],
        "input": row["input"],
        "return_value": row["return_value"],
        "errors": row["errors"],
        "tags": row["tags"],
        "linked_account_id": row["linked_account_id"],
        "started_by": row["started_by_label"],
        "performed_by": row["performed_by__email"] or row["performed_by__username"] or None,
        "attempt": row["attempt"],
        "parent": str(row["parent_id"]) if row["parent_id"] else None,
        "action": str(row["action_link__action_id"]) if row["action_link__action_id"] else None,
        "record": str(row["action_link__record_id"]) if row["action_link__record_id"] else None,
        "flow_run": row["flow_run_link__flow_run__run_id"],
        "schedule": str(row["schedule_link__schedule_id"]) if row["schedule_link__schedule_id"] else None,
        "created_at": iso(row["created_at"]),
        "started_at": iso(row["started_at"]),
        "ended_at": iso(row["ended_at"]),
        "cancel_requested": row["cancel_requested"],
        "definition": definition if definition is not None else {"tasks": []},
    }


class StartExecutionSerializer(serializers.Serializer):
    workflow = serializers.CharField(help_text="Workflow id or alias.")
    input = serializers.JSONField(required=False, default=dict)
    tags = serializers.DictField(child=serializers.CharField(), required=False, default=dict)
    linked_account_id = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)
    flow_run = serializers.RegexField(r"^([a-z0-9_.-]+)$", required=False, max_length=200,
                                      help_text="Mirror this execution into the Port flow run with this id.")
    callback_url = serializers.URLField(required=False, max_length=2000, help_text=(
        "Deliver this execution's end (execution.succeeded, failed or cancelled) to this URL, signed with the "
        "project's callback secret (see /api/v1/callback-secrets/)."))

    def validate_input(self, value):
        if not isinstance(value, dict):
            raise serializers.ValidationError("Input must be a JSON object.")
        return value


class TaskRunSerializer(serializers.ModelSerializer):
    type = serializers.CharField(source="task_type", read_only=True)

    class Meta:
        model = TaskRun
        fields = ["id", "name", "type", "status", "attempts", "output", "message", "started_at", "ended_at"]
        read_only_fields = fields


class LogSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="uuid", read_only=True)
    task_run = serializers.UUIDField(source="task_run_id", read_only=True, allow_null=True)

    class Meta:
        model = Log
        fields = ["id", "timestamp", "level", "message", "exception", "task_run"]
        read_only_fields = fields
