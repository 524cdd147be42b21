"""Native schedule serializers."""

from __future__ import annotations

from rest_framework import serializers
from rest_framework.exceptions import NotFound

from config.fields import TRUTH_FIELD_MAPPING, JSONObjectField
from schedules.models import CatchupPolicy, OverlapPolicy, Schedule
from workflows.services import get_workflow_for


class WorkflowReferenceField(serializers.CharField):
    """A workflow of the caller's, written as its id or alias and read as its id."""

    def to_internal_value(self, data):
        reference = super().to_internal_value(data)
        try:
            return get_workflow_for(self.context["request"].auth, reference)
        except NotFound:
            raise serializers.ValidationError(f"No workflow with id or alias {reference!r}.") from None

    def to_representation(self, value):
        return str(value.pk)


class ScheduleSerializer(serializers.ModelSerializer):
    serializer_field_mapping = TRUTH_FIELD_MAPPING  # enabled, required: true/false words as everywhere
    workflow = WorkflowReferenceField(help_text="Workflow id or alias (read back as its id).")
    workflow_name = serializers.CharField(source="workflow.name", read_only=True)
    timezone = serializers.CharField(required=False, default="UTC", max_length=64,
                                     help_text="IANA time zone the expression is read in, such as Europe/Berlin.")
    cron = serializers.CharField(max_length=200, help_text="Five fields (minute hour day month weekday), "
                                 "for example '*/5 * * * *', or @hourly, @daily, @weekly, @monthly, @yearly.")
    input = JSONObjectField(required=False, default=dict, help_text="The input each run starts with.")
    overlap_policy = serializers.ChoiceField(choices=OverlapPolicy.choices, required=False, default=OverlapPolicy.SKIP)
    catchup_policy = serializers.ChoiceField(choices=CatchupPolicy.choices, required=False, default=CatchupPolicy.NONE)
    created_by = serializers.CharField(source="created_by_label", read_only=True)

    class Meta:
        model = Schedule
        fields = ["id", "project", "workflow", "workflow_name", "name", "cron", "timezone", "input", "enabled",
                  "overlap_policy", "catchup_policy", "next_run_at", "last_due_at", "last_outcome", "created_by",
                  "created_at", "updated_at"]
        read_only_fields = ["id", "project", "next_run_at", "last_due_at", "last_outcome", "created_at", "updated_at"]

    def validate_workflow(self, workflow):
        if self.instance is not None and workflow.pk != self.instance.workflow_id:
            raise serializers.ValidationError("A schedule cannot move to another workflow; create a new one.")
        return workflow
