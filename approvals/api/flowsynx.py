"""FlowSynx's approval endpoints: approve or reject a pending step of a workflow execution.

``POST /workflows/{workflowId}/executions/{executionId}/approvals/{approvalId}/approve`` (and
``/reject``), in FlowSynx's envelope, as the rest of the FlowSynx surface (``executions.api.flowsynx``).
"""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import OpenApiResponse
from rest_framework import exceptions, serializers

from approvals import services as approval_services
from executions.api.flowsynx import (
    EMPTY_ENVELOPE,
    ERROR_ENVELOPE,
    EXECUTION_ID,
    WORKFLOW_ID,
    FlowSynxView,
    flowsynx_schema,
    parse_id,
    path_parameter,
)

APPROVED = "The workflow execution step has been approved."
REJECTED = "The workflow execution step has been rejected."
APPROVAL_NOT_FOUND = "Approval {id} not found in workflow execution {execution}."
APPROVAL_ID = path_parameter("approvalId", "The pending approval's id.")


class FlowSynxDecision(serializers.Serializer):
    comment = serializers.CharField(required=False, allow_blank=True, default="")
    formValues = serializers.DictField(required=False, default=None, allow_null=True,  # noqa: N815
                                       help_text="Values for the approval's form, when it has one.")



class DecisionView(FlowSynxView):
    """Approve or reject a pending approval of the execution (``decision`` set per URL)."""

    decision = "approve"
    messages = {"approve": APPROVED, "reject": REJECTED}

    def post(self, request, workflowId, executionId, approvalId):  # noqa: N803
        execution = self.get_execution()
        message = APPROVAL_NOT_FOUND.format(id=approvalId, execution=execution.id)
        approval_id = parse_id(approvalId, message)
        body = FlowSynxDecision(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            approval = approval_services.get_approval_for(request.auth, approval_id, execution=execution)
        except (exceptions.NotFound, Http404):
            raise exceptions.NotFound(message) from None
        approval_services.decide_approval(approval, request.auth, self.decision,
                                          comment=body.validated_data["comment"],
                                          form_values=body.validated_data["formValues"])
        return self.answer({}, self.messages[self.decision])


_DECISION_ERRORS = {
    200: EMPTY_ENVELOPE,
    400: OpenApiResponse(ERROR_ENVELOPE, description="The approval's form or comment rules are not met."),
    409: OpenApiResponse(ERROR_ENVELOPE, description="The approval has already been decided, expired or cancelled."),
}


class ApproveView(DecisionView):
    decision = "approve"

    @flowsynx_schema("Approve a workflow execution step", "flowsynx_approve", _DECISION_ERRORS,
                     [WORKFLOW_ID, EXECUTION_ID, APPROVAL_ID], request=FlowSynxDecision,
                     description="Body optional: a comment and form values, when the approval asks for them.")
    def post(self, request, workflowId, executionId, approvalId):  # noqa: N803
        return super().post(request, workflowId, executionId, approvalId)


class RejectView(DecisionView):
    decision = "reject"

    @flowsynx_schema("Reject a workflow execution step", "flowsynx_reject", _DECISION_ERRORS,
                     [WORKFLOW_ID, EXECUTION_ID, APPROVAL_ID], request=FlowSynxDecision,
                     description="Body optional: a comment, when the approval asks for one.")
    def post(self, request, workflowId, executionId, approvalId):  # noqa: N803
        return super().post(request, workflowId, executionId, approvalId)
