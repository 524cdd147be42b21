"""Documented surfaces at their exact paths (included at the root, before the native API).

FlowSynx: ``/workflows/{workflowId}/executions...`` (no trailing slashes).
Refold: ``/api/v1/workflow/{workflow_id or alias}/execute`` and ``/api/v1/execution/{execution_id}/response``.
Ids are matched as plain strings so that a malformed one answers the surface's own 404 body.
"""

from django.urls import path

from executions.api import flowsynx, refold

EXECUTION = "workflows/<str:workflowId>/executions/<str:executionId>"

urlpatterns = [
    # FlowSynx
    path("workflows/<str:workflowId>/executions", flowsynx.ExecutionsView.as_view(), name="flowsynx-executions"),
    path(EXECUTION, flowsynx.ExecutionDetailsView.as_view(), name="flowsynx-execution"),
    path(f"{EXECUTION}/logs", flowsynx.ExecutionLogsView.as_view(), name="flowsynx-execution-logs"),
    path(f"{EXECUTION}/tasks", flowsynx.ExecutionTasksView.as_view(), name="flowsynx-execution-tasks"),
    path(f"{EXECUTION}/tasks/<str:taskExecutionId>", flowsynx.TaskDetailsView.as_view(), name="flowsynx-task"),
    path(f"{EXECUTION}/tasks/<str:taskExecutionId>/logs", flowsynx.TaskLogsView.as_view(),
         name="flowsynx-task-logs"),
    path(f"{EXECUTION}/cancel", flowsynx.CancelView.as_view(), name="flowsynx-cancel"),
    # Refold
    path("api/v1/workflow/<str:workflow_id>/execute", refold.ExecuteView.as_view(), name="refold-execute"),
    path("api/v1/execution/<str:execution_id>/response", refold.ResponseView.as_view(), name="refold-response"),
]
