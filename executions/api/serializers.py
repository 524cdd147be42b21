"""Native execution serializers."""

from __future__ import annotations

import uuid

from django.core.exceptions import ObjectDoesNotExist
from rest_framework import serializers

from accounts.caller import Caller
from config.fields import JSONObjectField
from config.formats import iso
from config.queries import CompiledRead
from executions.models import Execution, Log, TaskRun

# The features' links of an execution (records' actions, Port flow runs, schedules), read for a page
# of executions by one small query each: joined into the page's query instead, they made PostgreSQL
# spend 12-15 ms planning the join order of eight tables for every page.
LINKS = ("action_link", "flow_run_link__flow_run", "schedule_link")


def with_related(queryset):
    """``queryset`` loading what the execution serializers read: the workflow, version and performer
    joined, the links prefetched (one query each for all the rows)."""
    return queryset.select_related("workflow", "workflow_version", "performed_by").prefetch_related(*LINKS)


def for_listing(queryset):
    """``with_related`` without the definitions, which a list does not show: they stay in the database."""
    return with_related(queryset).defer("definition", "workflow_version__definition")


def _link(execution: Execution, name: str):
    """A feature's link row of the execution (prefetched with its page, see ``for_listing``), or None."""
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


def _detail_read(**scope) -> CompiledRead:
    def build(pk, **ids):
        return Execution.objects.for_scope(ids.get("tenant"), ids.get("project")).filter(pk=pk).values(*_DETAIL_VALUES)

    if not scope:
        return CompiledRead(lambda pk: Execution.objects.filter(pk=pk).values(*_DETAIL_VALUES), pk=uuid.uuid4())
    return CompiledRead(build, pk=uuid.uuid4(), **{name: uuid.uuid4() for name in scope})


_DETAIL = _detail_read()
_DETAIL_IN_TENANT = _detail_read(tenant=True)
_DETAIL_IN_PROJECT = _detail_read(tenant=True, project=True)


def execution_detail(execution_id, caller: Caller | None = None) -> dict | None:
    """``ExecutionDetailSerializer``'s answer for one execution (of the caller's, when given), or None.

    None too for an id that is not a UUID.
    """
    try:
        pk = uuid.UUID(str(execution_id))
    except ValueError:
        return None
    if caller is None:
        row = _DETAIL.first(pk=pk)
    elif caller.project_id is None:
        row = _DETAIL_IN_TENANT.first(pk=pk, tenant=caller.tenant_id)
    else:
        row = _DETAIL_IN_PROJECT.first(pk=pk, tenant=caller.tenant_id, project=caller.project_id)
    return _detail_answer(row) if row is not None else None


def execution_detail_in_hand(execution: Execution) -> dict:
    """The answer from an execution just started, without reading the database (which may be gone).

    Its action and record links are not shown: only the rows the start wrote are known here.
    """
    flow_run = execution.flow_run_link if Execution.flow_run_link.is_cached(execution) else None
    return _detail_answer({
        "id": execution.id, "workflow_id": execution.workflow_id,
        "workflow__name": execution.workflow.name if execution.workflow_id else None,
        "workflow_version__number": execution.workflow_version.number if execution.workflow_version_id else None,
        "status": execution.status, "input": execution.input, "return_value": execution.return_value,
        "errors": execution.errors, "tags": execution.tags, "linked_account_id": execution.linked_account_id,
        "started_by_label": execution.started_by_label,
        "performed_by__email": execution.performed_by.email if execution.performed_by_id else None,
        "performed_by__username": execution.performed_by.get_username() if execution.performed_by_id else None,
        "attempt": execution.attempt, "parent_id": execution.parent_id, "action_link__action_id": None,
        "action_link__record_id": None, "flow_run_link__flow_run__run_id": flow_run.flow_run.run_id if flow_run else None,
        "schedule_link__schedule_id": None,
        "created_at": execution.created_at, "started_at": execution.started_at, "ended_at": execution.ended_at,
        "cancel_requested": execution.cancel_requested, "definition": execution.definition,
        "workflow_version__definition": execution.workflow_version.definition if execution.workflow_version_id else None,
    })


def _detail_answer(row: dict) -> dict:
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


class RetryExecutionSerializer(serializers.Serializer):
    task = serializers.CharField(
        required=False, max_length=200,
        help_text="Run this task and every task downstream of it again too, even where they succeeded; "
                  "without it, only the failed, skipped and cancelled tasks run again.")


class StartExecutionSerializer(serializers.Serializer):
    workflow = serializers.CharField(help_text="Workflow id or alias.")
    input = JSONObjectField(required=False, default=dict, help_text=(
        "The execution's input: a JSON object that the tasks read as {{ input.<name> }}."))
    tags = serializers.DictField(child=serializers.CharField(), required=False, default=dict)
    linked_account_id = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)
    flow_run = serializers.RegexField(r"^([a-z0-9_.-]+)$", required=False, max_length=200,
                                      help_text="Mirror this execution into the Port flow run with this id.")
    callback_url = serializers.URLField(required=False, max_length=2000, help_text=(
        "Deliver this execution's end (execution.succeeded, failed or cancelled) to this URL, signed with the "
        "project's callback secret (see /api/v1/callback-secrets/)."))


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
