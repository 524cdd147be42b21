"""Paths of the records, stages, fields and actions APIs, and of the Flowdash and mindzie surfaces.

Included at the root before the native routers, so these exact paths win. ``APPEND_SLASH`` is
off (documented paths are never redirected), so each route also answers with the other trailing
slash; only the documented spelling appears in the OpenAPI document.
"""

from django.urls import re_path

from records.api import flowdash, mindzie, records

WORKFLOW = r"^api/v1/workflows/(?P<workflow_id>[^/]+)"
# mindzie's tenant and project GUIDs; "v1" and the like belong to the native API, not a tenant.
MINDZIE = r"^api/(?P<tenantId>(?!v\d+/)[^/]+)/(?P<projectId>[^/]+)/action"


def route(regex: str, view, name: str, *, slash: bool = False) -> list:
    """The route as documented (with or without its trailing slash), plus the other spelling."""
    documented, other = (f"{regex}/$", f"{regex}$") if slash else (f"{regex}$", f"{regex}/$")
    return [
        re_path(documented, view.as_view(), name=name),
        re_path(other, view.as_view(schema=None)),
    ]


urlpatterns = [
    # Flowdash Actions API.
    *route(rf"{WORKFLOW}/tasks/(?P<unique_id>[^/]+)/actions", flowdash.FlowdashTaskActionsView,
           "flowdash-task-actions"),
    *route(rf"{WORKFLOW}/executions", flowdash.FlowdashExecutionsView, "flowdash-executions"),
    *route(rf"{WORKFLOW}/executions/(?P<execution_id>[^/]+)", flowdash.FlowdashExecutionView, "flowdash-execution"),
    # Records (Flowdash's tasks) and their history; stages; fields; actions.
    *route(rf"{WORKFLOW}/tasks", records.RecordListView, "workflow-tasks", slash=True),
    *route(rf"{WORKFLOW}/tasks/(?P<unique_id>[^/]+)", records.RecordDetailView, "workflow-task"),
    *route(rf"{WORKFLOW}/tasks/(?P<unique_id>[^/]+)/history", records.RecordHistoryView, "workflow-task-history"),
    *route(rf"{WORKFLOW}/stages", records.StageListView, "workflow-stages", slash=True),
    *route(rf"{WORKFLOW}/stages/(?P<stage_id>[^/]+)", records.StageDetailView, "workflow-stage"),
    *route(rf"{WORKFLOW}/fields", records.FieldListView, "workflow-fields", slash=True),
    *route(rf"{WORKFLOW}/fields/(?P<field_id>[^/]+)", records.FieldDetailView, "workflow-field"),
    *route(r"^api/v1/actions", records.ActionListView, "actions", slash=True),
    *route(r"^api/v1/actions/(?P<action_id>[^/]+)", records.ActionDetailView, "action"),
    # mindzie: Execute Action, Get Action, and an action execution's progress.
    *route(rf"{MINDZIE}/execute/(?P<actionId>[^/]+)", mindzie.MindzieExecuteActionView, "mindzie-action-execute"),
    *route(rf"{MINDZIE}/execution/(?P<actionExecutionId>[^/]+)", mindzie.MindzieActionExecutionView,
           "mindzie-action-execution"),
    *route(rf"{MINDZIE}/(?P<actionId>[^/]+)", mindzie.MindzieGetActionView, "mindzie-action"),
]
