"""FlowSynx's approval paths, at the server root like the rest of FlowSynx (no trailing slashes)."""

from django.urls import path

from approvals.api import flowsynx

EXECUTION = "workflows/<str:workflowId>/executions/<str:executionId>"

urlpatterns = [
    path(f"{EXECUTION}/approvals/<str:approvalId>/approve", flowsynx.ApproveView.as_view(), name="flowsynx-approve"),
    path(f"{EXECUTION}/approvals/<str:approvalId>/reject", flowsynx.RejectView.as_view(), name="flowsynx-reject"),
]
