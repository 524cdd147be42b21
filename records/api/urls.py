"""Paths of the records, stages, fields and actions APIs, and of the Flowdash and mindzie surfaces.

Included at the root before the native routers, so these exact paths win. ``APPEND_SLASH`` is
off (documented paths are never redirected), so each route also answers with the other trailing
slash; only the documented spelling appears in the OpenAPI document.

mindzie's routes put fixed words where other routes take an id (``action/ping`` beside
``action/{actionId}``, ``actionexecution/lastaction/...`` beside ``actionexecution/{id}``); an id
segment never matches one of those words, so ``actionexecution/lastaction`` without its action id
is a mindzie 404 saying so, not a look-up of an execution called "lastaction".
"""

from django.http import JsonResponse
from django.urls import re_path
from django.views.decorators.csrf import csrf_exempt

from records.api import flowdash, mindzie, mindzie_pings, mindzie_projects, records

WORKFLOW = r"^api/v1/workflows/(?P<workflow_id>[^/]+)"
# mindzie's tenant GUID; "v1" and the like belong to the native API, not a tenant.
MINDZIE_TENANT = r"^api/(?P<tenantId>(?!v\d+/)[^/]+)"
MINDZIE_PROJECT = rf"{MINDZIE_TENANT}/(?P<projectId>[^/]+)"
MINDZIE = rf"{MINDZIE_PROJECT}/action"
MINDZIE_EXECUTION = rf"{MINDZIE_PROJECT}/actionexecution"
MINDZIE_WORDS = ("ping", "unauthorized-ping", "execute", "execution", "action", "lastaction", "downloadpackage",
                 "summary")


def mindzie_id(name: str) -> str:
    """A path segment named ``name`` that is never one of mindzie's fixed words."""
    return rf"(?P<{name}>(?!(?:{'|'.join(MINDZIE_WORDS)})/?$)[^/]+)"


@csrf_exempt  # any method: a POST to an unknown path is a 404, not a CSRF failure
def mindzie_not_found(request, **kwargs):
    """A path under mindzie's prefixes that names no endpoint (a fixed word without its id, say)."""
    return JsonResponse({"error": f"No mindzie endpoint at {request.path}; see /api/docs/ (tag mindzie) for "
                                  "the paths, e.g. /api/{tenantId}/{projectId}/actionexecution/lastaction/{actionId}."},
                        status=404)


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
    # mindzie actions: pings, Execute Action, Get Action, and the alias of an execution's progress.
    *route(rf"{MINDZIE}/ping", mindzie.MindzieActionPingView, "mindzie-action-ping"),
    *route(rf"{MINDZIE}/unauthorized-ping", mindzie.MindzieActionUnauthorizedPingView,
           "mindzie-action-unauthorized-ping"),
    *route(rf"{MINDZIE}/execute/{mindzie_id('actionId')}", mindzie.MindzieExecuteActionView,
           "mindzie-action-execute"),
    *route(rf"{MINDZIE}/execution/{mindzie_id('actionExecutionId')}", mindzie.MindzieActionExecutionAliasView,
           "mindzie-action-execution-alias"),
    *route(rf"{MINDZIE}/{mindzie_id('actionId')}", mindzie.MindzieGetActionView, "mindzie-action"),
    # mindzie action executions: pings, by id, by action (newest first), the last one, the package.
    *route(rf"{MINDZIE_EXECUTION}/ping", mindzie.MindzieActionExecutionPingView, "mindzie-action-execution-ping"),
    *route(rf"{MINDZIE_EXECUTION}/unauthorized-ping", mindzie.MindzieActionExecutionUnauthorizedPingView,
           "mindzie-action-execution-unauthorized-ping"),
    *route(rf"{MINDZIE_EXECUTION}/action/{mindzie_id('actionId')}", mindzie.MindzieActionExecutionsView,
           "mindzie-action-executions"),
    *route(rf"{MINDZIE_EXECUTION}/lastaction/{mindzie_id('actionId')}", mindzie.MindzieLastActionExecutionView,
           "mindzie-action-execution-last"),
    *route(rf"{MINDZIE_EXECUTION}/downloadpackage/{mindzie_id('actionExecutionId')}",
           mindzie.MindzieDownloadPackageView, "mindzie-action-execution-package"),
    *route(rf"{MINDZIE_EXECUTION}/{mindzie_id('actionExecutionId')}", mindzie.MindzieActionExecutionView,
           "mindzie-action-execution"),
    # mindzie projects of the tenant.
    *route(rf"{MINDZIE_TENANT}/project", mindzie_projects.MindzieProjectListView, "mindzie-projects"),
    *route(rf"{MINDZIE_TENANT}/project/ping", mindzie_projects.MindzieProjectPingView, "mindzie-project-ping"),
    *route(rf"{MINDZIE_TENANT}/project/unauthorized-ping", mindzie_projects.MindzieProjectUnauthorizedPingView,
           "mindzie-project-unauthorized-ping"),
    *route(rf"{MINDZIE_TENANT}/project/{mindzie_id('projectId')}", mindzie_projects.MindzieProjectDetailView,
           "mindzie-project"),
    *route(rf"{MINDZIE_TENANT}/project/{mindzie_id('projectId')}/summary", mindzie_projects.MindzieProjectSummaryView,
           "mindzie-project-summary"),
    # mindzie's server pings (its client's connectivity checks).
    *route(r"^api/ping/ping", mindzie_pings.MindzieServerPingView, "mindzie-ping"),
    *route(r"^api/ping/unauthorizedping", mindzie_pings.MindzieServerUnauthorizedPingView,
           "mindzie-unauthorized-ping"),
    *route(r"^api/ping/ping-exception", mindzie_pings.MindziePingExceptionView, "mindzie-ping-exception"),
    *route(r"^api/ping/pingwithtenantidpathparam/(?P<tenantId>[^/]+)", mindzie_pings.MindziePingTenantView,
           "mindzie-ping-tenant"),
    *route(r"^api/ping/pingwithprojectidpathparam/(?P<projectId>[^/]+)", mindzie_pings.MindziePingProjectView,
           "mindzie-ping-project"),
    *route(r"^api/ping/pingwithbodyparam", mindzie_pings.MindziePingBodyView, "mindzie-ping-body"),
    *route(r"^api/ping/pingwithpathandbodyparam/(?P<id>-?\d+)", mindzie_pings.MindziePingPathAndBodyView,
           "mindzie-ping-path-and-body"),
    *route(r"^api/ping/pingwithfileparam", mindzie_pings.MindziePingFileView, "mindzie-ping-file"),
    *route(r"^api/ping/pingwithmultipleformparams", mindzie_pings.MindziePingFormView, "mindzie-ping-form"),
    *route(r"^api/ping/pingwithpathandmultipleformparams/(?P<id>-?\d+)", mindzie_pings.MindziePingPathAndFormView,
           "mindzie-ping-path-and-form"),
    # Anything else under mindzie's prefixes answers mindzie's 404 body.
    re_path(rf"{MINDZIE_PROJECT}/(?:action|actionexecution)(?:/.*)?$", mindzie_not_found),
    re_path(rf"{MINDZIE_TENANT}/project(?:/.*)?$", mindzie_not_found),
    re_path(r"^api/ping(?:/.*)?$", mindzie_not_found),
]
