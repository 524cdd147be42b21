"""Native approval serializers."""

from __future__ import annotations

from rest_framework import serializers

from approvals import links, services
from approvals.models import Approval, ApprovalDecision, TimeoutOutcome


class ApproversSerializer(serializers.Serializer):
    users = serializers.ListField(child=serializers.CharField(), source="approver_usernames",
                                  help_text="Usernames named on the approval task.")
    roles = serializers.ListField(child=serializers.CharField(), source="approver_roles",
                                  help_text="Members with one of these roles may decide.")
    emails = serializers.ListField(child=serializers.EmailField(), source="approver_emails",
                                   help_text="Members with one of these email addresses may decide.")


class FormFieldSerializer(serializers.Serializer):
    name = serializers.CharField()
    type = serializers.ChoiceField(choices=services.FORM_FIELD_TYPES)
    required = serializers.BooleanField()
    label = serializers.CharField()
    choices = serializers.ListField(child=serializers.CharField())
    help = serializers.CharField(allow_blank=True)


class ApprovalDecisionSerializer(serializers.ModelSerializer):
    by = serializers.CharField(source="label", read_only=True, help_text="Username, or key:<name> for an API key.")

    class Meta:
        model = ApprovalDecision
        fields = ["decision", "by", "comment", "form_values", "created_at"]
        read_only_fields = fields


class ApprovalSerializer(serializers.ModelSerializer):
    workflow = serializers.UUIDField(source="execution.workflow_id", read_only=True, allow_null=True)
    workflow_name = serializers.CharField(source="execution.workflow.name", read_only=True, default=None,
                                          allow_null=True)
    task = serializers.CharField(source="task_run.name", read_only=True, help_text="The approval task's name.")
    requested_by = serializers.CharField(source="execution.started_by_label", read_only=True,
                                         help_text="Who started the execution.")
    approvers = ApproversSerializer(source="*", read_only=True, help_text="Who may decide (besides tenant admins).")
    form = FormFieldSerializer(many=True, read_only=True)
    on_timeout = serializers.ChoiceField(choices=TimeoutOutcome.choices, source="timeout_outcome", read_only=True,
                                         help_text="What happens at expires_at without a decision.")
    on_reject = serializers.ChoiceField(choices=services.ON_REJECT_CHOICES, read_only=True,
                                        help_text="fail: a rejection fails the execution; continue: the task succeeds with "
                                     "decision \"rejected\" so a condition can route it.")
    decided_by = serializers.CharField(source="decided_by_label", read_only=True,
                                       help_text="Who settled it (the last approver, or the rejecter).")
    decisions = ApprovalDecisionSerializer(many=True, read_only=True,
                                           help_text="Every vote, oldest first (n-of-m approvals have several).")
    can_decide = serializers.SerializerMethodField(help_text="Whether the caller may decide it now.")
    url = serializers.SerializerMethodField(help_text="The approval's page for approvers.")

    class Meta:
        model = Approval
        fields = ["id", "status", "title", "instructions", "execution", "task_run", "task", "workflow",
                  "workflow_name", "requested_by", "requested_at", "expires_at", "on_timeout", "on_reject",
                  "approvers", "required_approvals", "approvals_count", "allow_self_approval", "require_comment",
                  "form", "decided_by", "decided_at", "comment", "form_values", "decisions", "can_decide", "url"]
        read_only_fields = fields

    def get_can_decide(self, approval) -> bool:
        request = self.context.get("request")
        return services.can_decide(approval, getattr(request, "auth", None))

    def get_url(self, approval) -> str:
        return links.detail_url(approval)


class DecideSerializer(serializers.Serializer):
    comment = serializers.CharField(required=False, allow_blank=True, default="", max_length=10000,
                                    help_text="Why you approve or reject; required when the approval asks for it.")
    form_values = serializers.DictField(required=False, default=dict,
                                        help_text="Values for the approval's form fields, by field name.")
