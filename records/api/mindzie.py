"""mindzie's Execute Action API and the action calls of mindzie's Python client, at mindzie's paths.

Actions, ``/api/{tenantId}/{projectId}/action/...``:

* ``GET execute/{actionId}``: queue a run of the action's steps; 200 ``{"actionId",
  "actionExecutionId", "dateStarted", "dateEnded", "status", "notes"}`` (the execution shape).
* ``GET {actionId}``: does the action exist, is it enabled.
* ``GET ping`` (credentials checked) and ``GET unauthorized-ping`` (none needed).
* ``GET execution/{actionExecutionId}``: an alias of ``actionexecution/{actionExecutionId}``.

Action executions, ``/api/{tenantId}/{projectId}/actionexecution/...``:

* ``GET {actionExecutionId}``: one execution in the execution shape (``Queued``, ``Running``,
  ``Completed``, ``Failed``).
* ``GET action/{actionId}``: the action's executions, newest first, a page at a time
  (``page``, ``pageSize``): ``{"actionId", "executions", "totalCount", "page", "pageSize"}``.
* ``GET lastaction/{actionId}``: its newest execution.
* ``GET downloadpackage/{actionExecutionId}``: an ended execution's package (its input, task
  runs, outputs and logs) as JSON, or as a zip with ``Accept: application/zip``.
* ``GET ping``, ``GET unauthorized-ping``.

Errors are ``{"error": "...", ...}``: 404 ``Action not found`` and ``Action can't create
execution`` (with ``actionId``), ``Action execution not found``, 409 for the package of an execution
that has not ended, 400 for a bad page, 401 for bad credentials. A tenant or project in the path
that the credentials do not reach answers 404, like a missing one.
"""

from __future__ import annotations

import io
import json
import logging
import uuid
import zipfile

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, generics, renderers, serializers
from rest_framework.response import Response
from rest_framework.utils.encoders import JSONEncoder

from accounts.authentication import BearerKeyAuthentication, HeaderKeyAuthentication
from accounts.models import Project, Tenant
from accounts.permissions import ALL_ROLES
from config.counting import COUNT_CAP, capped_count
from config.errors import native_exception_handler, register_surface_paths
from config.formats import iso
from config.openapi import COMMON_ANSWERS
from config.values import parse_number
from executions.api.flowsynx import word_field
from executions.models import TERMINAL_STATUSES, Execution, ExecutionStatus, Log, TaskRun, TaskRunStatus
from executions.services import get_execution_for
from executions.status_words import status_word, surface_words
from records.actions import (
    ActionRefused,
    failed_task_messages_of,
    failure_messages,
    get_action_for,
    perform_action,
)
from records.models import Action, ActionExecution

logger = logging.getLogger("flowgate.mindzie")

ACTION_NOT_FOUND = "Action not found"
CANNOT_EXECUTE = "Action can't create execution"
EXECUTION_NOT_FOUND = "Action execution not found"
NO_EXECUTION_YET = "Action has no executions yet"
NOT_ENDED = ("Action execution has not ended; its package can be downloaded once its status is Completed or "
             "Failed.")
PING_ANSWER = "Ping Successful"
MINDZIE_WORDS = surface_words("mindzie")

DEFAULT_PAGE_SIZE = 50  # the client's own default
MAX_PAGE_SIZE = 1000  # the client's MAX_PAGE_SIZE; its project search asks for 1000 at once
MAX_OFFSET = 2**63 - 1  # PostgreSQL's OFFSET is a bigint: a page past it is empty, not an error
# A package is one response built in memory; past this many log lines it says it was cut short,
# and the native API pages through all of them (GET /api/v1/executions/{id}/logs/).
MAX_PACKAGE_LOGS = 5000


class MindzieError(exceptions.APIException):
    """An error answered with a mindzie body as given."""

    def __init__(self, status_code: int, body: dict) -> None:
        self.status_code = status_code
        self.body = body
        super().__init__(body.get("error"))


def mindzie_exception_handler(exc, context):
    """mindzie's error body, ``{"error": "..."}``, keeping the status code (and WWW-Authenticate)."""
    if isinstance(exc, MindzieError):
        return Response(exc.body, status=exc.status_code)
    response = native_exception_handler(exc, context)
    if response is None:
        return None
    response.data = {"error": response.data.get("detail") or "Error."}
    return response


# -- shapes ---------------------------------------------------------------------------------------------
class MindzieExecutionSerializer(serializers.Serializer):
    actionId = serializers.UUIDField(allow_null=True, help_text="The action being executed.")
    actionExecutionId = serializers.UUIDField(help_text="This execution; keep it to track progress.")
    dateStarted = serializers.DateTimeField(help_text="When the execution was queued.")
    dateEnded = serializers.DateTimeField(allow_null=True, help_text="When it ended (null while it runs).")
    status = word_field(MINDZIE_WORDS, "MindzieExecution", help_text=f"One of {', '.join(MINDZIE_WORDS)}.")
    notes = serializers.CharField(allow_null=True, help_text="Error messages when it failed, else null.")


class MindzieExecutionPageSerializer(serializers.Serializer):
    actionId = serializers.UUIDField()
    executions = MindzieExecutionSerializer(many=True, help_text="Newest first.")
    totalCount = serializers.IntegerField(
        help_text=f"Executions of the action in all pages, counted up to {COUNT_CAP:,}: with more, {COUNT_CAP} "
                  "and totalCountCapped true.")
    totalCountCapped = serializers.BooleanField(
        help_text=f"True when the action has more than {COUNT_CAP:,} executions; the pages past them are "
                  "still answered.")
    page = serializers.IntegerField(help_text="This page's number, from 1.")
    pageSize = serializers.IntegerField(help_text="Executions per page.")


class MindziePackageTaskRunSerializer(serializers.Serializer):
    name = serializers.CharField()
    type = serializers.CharField()
    status = word_field(surface_words("mindzie", executions_only=False), "MindziePackageTaskRun")
    attempts = serializers.IntegerField()
    dateStarted = serializers.DateTimeField(allow_null=True)
    dateEnded = serializers.DateTimeField(allow_null=True)
    message = serializers.CharField(allow_blank=True, help_text="What the step said when it failed or skipped.")


class MindziePackageLogSerializer(serializers.Serializer):
    timestamp = serializers.DateTimeField()
    level = serializers.CharField(help_text="debug, info, warning or error.")
    task = serializers.CharField(allow_null=True, help_text="The step that wrote it (null for the execution).")
    message = serializers.CharField(allow_blank=True)
    exception = serializers.CharField(allow_null=True)


class MindziePackageLogsSerializer(serializers.Serializer):
    lines = MindziePackageLogSerializer(many=True, help_text="Oldest first.")
    truncated = serializers.BooleanField(help_text=f"True when there were more than {MAX_PACKAGE_LOGS} lines; "
                                                   "GET /api/v1/executions/{id}/logs/ pages through all of them.")


class MindziePackageExecutionSerializer(MindzieExecutionSerializer):
    status = word_field(MINDZIE_WORDS, "MindziePackageExecution", help_text=f"One of {', '.join(MINDZIE_WORDS)}.")
    returnValue = serializers.JSONField(allow_null=True, help_text="What the steps answered (a response step).")


class MindziePackageSerializer(serializers.Serializer):
    execution = MindziePackageExecutionSerializer()
    input = serializers.JSONField(help_text="The execution's input.")
    taskRuns = MindziePackageTaskRunSerializer(many=True, help_text="Each step's run, in step order.")
    outputs = serializers.DictField(child=serializers.JSONField(allow_null=True),
                                    help_text="Each step's output, by step name.")
    logs = MindziePackageLogsSerializer()


class MindzieActionSerializer(serializers.Serializer):
    actionId = serializers.UUIDField()
    name = serializers.CharField()
    description = serializers.CharField()
    enabled = serializers.BooleanField()


class MindziePingSerializer(serializers.Serializer):
    data = serializers.CharField(help_text=f"{PING_ANSWER!r}; the client returns it.")
    tenantId = serializers.UUIDField(required=False, help_text="The credentials' tenant (authenticated pings).")
    projectId = serializers.UUIDField(required=False, help_text="The path's project (authenticated pings).")


class MindzieErrorSerializer(serializers.Serializer):
    error = serializers.CharField()
    actionId = serializers.CharField(required=False, help_text="The action id from the path, when it is about one.")
    actionExecutionId = serializers.CharField(required=False, help_text="The execution id from the path, when it "
                                                                          "is about one.")
    tenantId = serializers.CharField(required=False, help_text="The tenant id from the path, when no tenant the "
                                                               "token reaches has it.")
    projectId = serializers.CharField(required=False, help_text="The project id from the path, when no project "
                                                                "the token reaches has it.")
    status = serializers.CharField(required=False, help_text="The execution's status, when it is why.")


def execution_body(execution: Execution, failed_task_messages: list[str] | None = None) -> dict:
    """The execution shape; ``failed_task_messages`` saves a query per execution in a list."""
    failed = execution.status in (ExecutionStatus.FAILED, ExecutionStatus.CANCELLED)
    return {
        "actionId": str(execution.action_link.action_id) if execution.action_link.action_id else None,
        "actionExecutionId": str(execution.id),
        "dateStarted": iso(execution.created_at),
        "dateEnded": iso(execution.ended_at) if execution.status in TERMINAL_STATUSES else None,
        "status": status_word("mindzie", execution.status),
        "notes": "; ".join(failure_messages(execution, failed_task_messages)) if failed else None,
    }


def execution_bodies(executions: list[Execution]) -> list[dict]:
    """Execution shapes of a page, with the failed steps' messages of all of them read in one query."""
    ended_badly = [e.pk for e in executions if e.status in (ExecutionStatus.FAILED, ExecutionStatus.CANCELLED)]
    messages = failed_task_messages_of(ended_badly) if ended_badly else {}
    return [execution_body(e, messages.get(e.pk, [])) for e in executions]


def package_body(execution: Execution) -> dict:
    """An ended execution's input, task runs, outputs and logs, in three queries."""
    task_runs = list(TaskRun.objects.filter(execution=execution).order_by("position", "name"))
    failed = [run.message for run in task_runs if run.status == TaskRunStatus.FAILED and run.message]
    lines = list(Log.objects.filter(execution=execution).order_by("timestamp", "id")
                 .values("timestamp", "level", "task_run__name", "message", "exception")[:MAX_PACKAGE_LOGS + 1])
    return {
        "execution": {**execution_body(execution, failed), "returnValue": execution.return_value},
        "input": execution.input,
        "taskRuns": [{"name": run.name, "type": run.task_type, "status": status_word("mindzie", run.status),
                      "attempts": run.attempts, "dateStarted": iso(run.started_at), "dateEnded": iso(run.ended_at),
                      "message": run.message} for run in task_runs],
        "outputs": {run.name: run.output for run in task_runs if run.status == TaskRunStatus.SUCCEEDED},
        "logs": {"lines": [{"timestamp": iso(line["timestamp"]), "level": line["level"], "task": line["task_run__name"],
                            "message": line["message"], "exception": line["exception"]}
                           for line in lines[:MAX_PACKAGE_LOGS]],
                 "truncated": len(lines) > MAX_PACKAGE_LOGS},
    }


class ZipPackageRenderer(renderers.BaseRenderer):
    """A package as a zip: one JSON file per part (execution, input, taskRuns, outputs, logs)."""

    media_type = "application/zip"
    format = "zip"
    charset = None
    render_style = "binary"

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for part, value in data.items():
                archive.writestr(f"{part}.json", json.dumps(value, cls=JSONEncoder, indent=2, ensure_ascii=False))
        return buffer.getvalue()


def parse_guid(raw: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(raw))
    except ValueError:
        return None


def _page_number(request, name: str, default: int, maximum: int | None = None) -> int:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return default
    try:
        return parse_number(raw, integer=True, minimum=1, maximum=maximum)
    except ValueError:
        upper = f" to {maximum}" if maximum is not None else " or more"
        raise MindzieError(400, {"error": f"{name} must be a whole number from 1{upper}; it was {raw!r}."}) from None


def page_of(request, queryset, total: tuple[int, bool] | None = None) -> tuple[list, int, int, int]:
    """``(rows, totalCount, page, pageSize)`` for the ``page`` (from 1) and ``pageSize`` the client sends.

    ``total``: ``(count, capped)`` counted by the caller; without it the queryset is counted exactly.
    A capped count does not hide the pages past it.
    """
    page = _page_number(request, "page", 1)
    size = _page_number(request, "pageSize", DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
    start = (page - 1) * size
    count, capped = (queryset.count(), False) if total is None else total
    reachable = (start < count or capped) and start + size <= MAX_OFFSET
    rows = list(queryset[start:start + size]) if reachable else []
    return rows, count, page, size


def count_executions_of(action: Action) -> tuple[int, bool]:
    """``(count, capped)``: the action's executions, up to ``COUNT_CAP``.

    Counted from the links alone, through the index the page itself is read by (newest first): at
    most ``COUNT_CAP + 1`` index entries however many executions the action has had. An action
    stays in its project, so its executions are all in the project the caller reaches.
    """
    newest = ActionExecution.objects.filter(action=action).order_by("-created_at", "-execution_id")
    return capped_count(newest, by_order=True)


TENANT_PARAM = OpenApiParameter("tenantId", OpenApiTypes.UUID, OpenApiParameter.PATH, description="Your tenant id.")
PATH_PARAMS = [
    TENANT_PARAM,
    OpenApiParameter("projectId", OpenApiTypes.UUID, OpenApiParameter.PATH, description="Your project id."),
]
ACTION_PARAM = OpenApiParameter("actionId", OpenApiTypes.UUID, OpenApiParameter.PATH, description="The action.")
EXECUTION_PARAM = OpenApiParameter("actionExecutionId", OpenApiTypes.UUID, OpenApiParameter.PATH,
                                   description="The id Execute Action answered.")
PAGE_PARAMS = [
    OpenApiParameter("page", OpenApiTypes.INT, description="Page number, from 1 (default 1)."),
    OpenApiParameter("pageSize", OpenApiTypes.INT,
                     description=f"Items per page, 1-{MAX_PAGE_SIZE} (default {DEFAULT_PAGE_SIZE})."),
]
UNAUTHORIZED = {401: OpenApiResponse(MindzieErrorSerializer, description="Missing or invalid token.")}
FORBIDDEN = {403: OpenApiResponse(MindzieErrorSerializer, description="The token's role may not run this action.")}
NOT_REACHED = ("or a tenant or project the token does not reach (`Tenant not found`, `Project not found`)")
BAD_PAGE = {400: OpenApiResponse(MindzieErrorSerializer, description="`page` or `pageSize` out of range.")}
EXECUTION_EXAMPLE = {
    "actionId": "87654321-4321-4321-4321-210987654321", "actionExecutionId": "11111111-2222-3333-4444-555555555555",
    "dateStarted": "2024-01-15T10:30:00Z", "dateEnded": "2024-01-15T10:30:04Z", "status": "Completed",
    "notes": None}


class MindzieView(generics.GenericAPIView):
    """Common ground: mindzie's error bodies and the lookups by path ids, scoped to the caller once."""

    filter_backends: list = []
    pagination_class = None
    read_roles = ALL_ROLES

    def get_exception_handler(self):
        return mindzie_exception_handler

    def get_tenant(self) -> Tenant:
        """The path's tenant, when it is the caller's; else 404 (another tenant answers like a missing one)."""
        caller = self.request.auth
        if parse_guid(self.kwargs["tenantId"]) != caller.tenant_id:
            raise MindzieError(404, {"error": "Tenant not found", "tenantId": self.kwargs["tenantId"]})
        return caller.tenant

    def get_project(self) -> Project:
        """The path's project, if the caller's tenant owns it and the credentials reach it; else 404."""
        self.get_tenant()
        project_id = parse_guid(self.kwargs["projectId"])
        project = (Project.objects.for_caller(self.request.auth).filter(pk=project_id).first()
                   if project_id else None)
        if project is None:
            raise MindzieError(404, {"error": "Project not found", "projectId": self.kwargs["projectId"]})
        return project

    def get_action(self, project: Project) -> Action:
        """The project's action by GUID (or by its short id, as Flowdash names actions)."""
        raw = self.kwargs["actionId"]
        queryset = Action.objects.select_related("project", "workflow").filter(project=project)
        try:
            return get_action_for(self.request.auth, raw, queryset)
        except exceptions.NotFound:
            raise MindzieError(404, {"error": ACTION_NOT_FOUND, "actionId": raw}) from None

    def get_action_execution(self, project: Project) -> Execution:
        """An execution of one of the project's actions, by id; else 404."""
        raw = self.kwargs["actionExecutionId"]
        queryset = Execution.objects.select_related("action_link").filter(project=project,
                                                                          action_link__action__isnull=False)
        try:
            return get_execution_for(self.request.auth, parse_guid(raw), queryset)
        except exceptions.NotFound:
            raise MindzieError(404, {"error": EXECUTION_NOT_FOUND, "actionExecutionId": raw}) from None

    def executions_of(self, action: Action):
        """The action's executions the caller may see, newest first (from the links' own index)."""
        return (Execution.objects.for_caller(self.request.auth).filter(action_link__action=action)
                .select_related("action_link").order_by("-action_link__created_at", "-action_link__execution_id"))


# -- actions ----------------------------------------------------------------------------------------------

# Paths under mindzie's prefixes that no view takes, or requests refused before their view runs, answer
# mindzie's body ("v1" and the like belong to the native API, not a tenant).
for _prefix in (r"^/api/(?!v\d+/)[^/]+/[^/]+/(?:action|actionexecution)(?:/|$)", r"^/api/(?!v\d+/)[^/]+/project(?:/|$)",
                r"^/api/ping(?:/|$)"):
    register_surface_paths(_prefix, MindzieView)

class MindzieExecuteActionView(MindzieView):
    """Queue the action's steps for execution; every call makes a new execution."""

    serializer_class = MindzieExecutionSerializer
    # A GET that starts work: a browser sends its session cookie (or remembered Basic credentials) on
    # a link from another site, and CSRF protection covers only unsafe methods; so API keys only.
    authentication_classes = [BearerKeyAuthentication, HeaderKeyAuthentication]

    @extend_schema(
        operation_id="mindzie_action_execute", tags=["mindzie"], summary="Execute Action",
        parameters=[*PATH_PARAMS, ACTION_PARAM, OpenApiParameter(
            "Idempotency-Key", OpenApiTypes.STR, OpenApiParameter.HEADER,
            description="Optional: a repeated call with the same key returns the first execution instead of a "
                        "new one.")],
        responses={
            200: MindzieExecutionSerializer,
            404: OpenApiResponse(MindzieErrorSerializer, description="`Action not found`, or `Action can't create "
                                 "execution` (disabled, requirements not met, or no steps), " + NOT_REACHED + "."),
            **UNAUTHORIZED, **FORBIDDEN,
        },
        examples=[
            OpenApiExample("Queued", response_only=True, value={
                **EXECUTION_EXAMPLE, "dateEnded": None, "status": "Queued"}),
            OpenApiExample("Not found", response_only=True, status_codes=["404"], value={
                "error": "Action not found", "actionId": "87654321-4321-4321-4321-210987654321"}),
        ],
    )
    def get(self, request, tenantId, projectId, actionId):
        action = self.get_action(self.get_project())
        try:
            execution, _ = perform_action(caller=request.auth, action=action,
                                          idempotency_key=request.headers.get("Idempotency-Key") or None)
        except ActionRefused as exc:
            if exc.status_code == 403:
                raise MindzieError(403, {"error": exc.errors[0], "actionId": actionId}) from None
            logger.info("action %s can't create an execution: %s", action.id, "; ".join(exc.errors))
            raise MindzieError(404, {"error": CANNOT_EXECUTE, "actionId": actionId}) from None
        return Response(execution_body(execution))


class MindzieGetActionView(MindzieView):
    """Whether an action exists and is enabled."""

    serializer_class = MindzieActionSerializer

    @extend_schema(
        operation_id="mindzie_action_retrieve", tags=["mindzie"], summary="Get Action",
        parameters=[*PATH_PARAMS, ACTION_PARAM],
        responses={200: MindzieActionSerializer,
                   404: OpenApiResponse(MindzieErrorSerializer, description="`Action not found`."), **UNAUTHORIZED},
    )
    def get(self, request, tenantId, projectId, actionId):
        action = self.get_action(self.get_project())
        return Response({"actionId": str(action.id), "name": action.name, "description": action.description,
                         "enabled": action.enabled})


# -- pings ------------------------------------------------------------------------------------------------
def ping_schema(operation_id: str, summary: str, *, parameters: list, authenticated: bool):
    responses = {200: MindziePingSerializer}
    if authenticated:
        responses |= UNAUTHORIZED
    else:
        # The document adds these to operations that take credentials; a ping without them is
        # throttled per address all the same, and answers both in mindzie's shape.
        responses |= {int(code): OpenApiResponse(MindzieErrorSerializer, description=description)
                      for code, description in COMMON_ANSWERS.items()}
    if authenticated and parameters:
        responses[404] = OpenApiResponse(MindzieErrorSerializer, description="A tenant or project the token does "
                                         "not reach (`Tenant not found`, `Project not found`).")
    if not authenticated:
        # Without credentials nothing is looked up: any text in the path's ids answers the ping.
        parameters = [OpenApiParameter(parameter.name, OpenApiTypes.STR, parameter.location,
                                       description=parameter.description) for parameter in parameters]
    return extend_schema(operation_id=operation_id, tags=["mindzie"], summary=summary, parameters=parameters,
                         responses=responses, auth=None if authenticated else [],
                         examples=[OpenApiExample("Ping", response_only=True, value={"data": PING_ANSWER})])


class MindziePingView(MindzieView):
    """A ping that checks the credentials and the tenant and project of its path."""

    serializer_class = MindziePingSerializer

    def get(self, request, **kwargs):
        body = {"data": PING_ANSWER, "tenantId": str(request.auth.tenant_id)}
        if "projectId" in self.kwargs:
            body["projectId"] = str(self.get_project().id)
        elif "tenantId" in self.kwargs:
            self.get_tenant()
        return Response(body)


class MindzieUnauthorizedPingView(MindzieView):
    """A ping that needs no credentials (and ignores any it is sent)."""

    serializer_class = MindziePingSerializer
    authentication_classes: list = []
    permission_classes: list = []

    def get(self, request, **kwargs):
        return Response({"data": PING_ANSWER})


class MindzieActionPingView(MindziePingView):
    @ping_schema("mindzie_action_ping", "Action ping", parameters=PATH_PARAMS, authenticated=True)
    def get(self, request, tenantId, projectId):
        return super().get(request)


class MindzieActionUnauthorizedPingView(MindzieUnauthorizedPingView):
    @ping_schema("mindzie_action_unauthorized_ping", "Action ping without credentials", parameters=PATH_PARAMS,
                 authenticated=False)
    def get(self, request, tenantId, projectId):
        return super().get(request)


class MindzieActionExecutionPingView(MindziePingView):
    @ping_schema("mindzie_action_execution_ping", "Action execution ping", parameters=PATH_PARAMS,
                 authenticated=True)
    def get(self, request, tenantId, projectId):
        return super().get(request)


class MindzieActionExecutionUnauthorizedPingView(MindzieUnauthorizedPingView):
    @ping_schema("mindzie_action_execution_unauthorized_ping", "Action execution ping without credentials",
                 parameters=PATH_PARAMS, authenticated=False)
    def get(self, request, tenantId, projectId):
        return super().get(request)


# -- action executions ------------------------------------------------------------------------------------
EXECUTION_SCHEMA = {
    "tags": ["mindzie"], "parameters": [*PATH_PARAMS, EXECUTION_PARAM],
    "responses": {200: MindzieExecutionSerializer, 404: OpenApiResponse(
        MindzieErrorSerializer, description="`Action execution not found`, " + NOT_REACHED + "."), **UNAUTHORIZED},
    "examples": [OpenApiExample("Completed", response_only=True, value=EXECUTION_EXAMPLE)],
}


class MindzieActionExecutionView(MindzieView):
    """An action execution's progress, in the execute response's shape."""

    serializer_class = MindzieExecutionSerializer

    @extend_schema(operation_id="mindzie_action_execution_retrieve", summary="Get Action Execution",
                   **EXECUTION_SCHEMA)
    def get(self, request, tenantId, projectId, actionExecutionId):
        return Response(execution_body(self.get_action_execution(self.get_project())))


class MindzieActionExecutionAliasView(MindzieActionExecutionView):
    """``action/execution/{id}``: the same answer as ``actionexecution/{id}``."""

    @extend_schema(operation_id="mindzie_action_execution_retrieve_alias", summary="Get Action Execution (alias)",
                   description="The same as `GET /api/{tenantId}/{projectId}/actionexecution/{actionExecutionId}`.",
                   **EXECUTION_SCHEMA)
    def get(self, request, tenantId, projectId, actionExecutionId):
        return super().get(request, tenantId, projectId, actionExecutionId)


class MindzieActionExecutionsView(MindzieView):
    """An action's executions, newest first, a page at a time."""

    serializer_class = MindzieExecutionPageSerializer

    @extend_schema(
        operation_id="mindzie_action_execution_list", tags=["mindzie"], summary="Get Executions of an Action",
        parameters=[*PATH_PARAMS, ACTION_PARAM, *PAGE_PARAMS],
        responses={200: MindzieExecutionPageSerializer, **BAD_PAGE, 404: OpenApiResponse(
            MindzieErrorSerializer, description="`Action not found`, " + NOT_REACHED + "."), **UNAUTHORIZED},
        examples=[OpenApiExample("Page", response_only=True, value={
            "actionId": EXECUTION_EXAMPLE["actionId"], "executions": [EXECUTION_EXAMPLE], "totalCount": 1,
            "totalCountCapped": False, "page": 1, "pageSize": DEFAULT_PAGE_SIZE})],
    )
    def get(self, request, tenantId, projectId, actionId):
        action = self.get_action(self.get_project())
        total, capped = count_executions_of(action)
        rows, total, page, size = page_of(request, self.executions_of(action), total=(total, capped))
        return Response({"actionId": str(action.id), "executions": execution_bodies(rows), "totalCount": total,
                         "totalCountCapped": capped,
                         "page": page, "pageSize": size})


class MindzieLastActionExecutionView(MindzieView):
    """An action's newest execution."""

    serializer_class = MindzieExecutionSerializer

    @extend_schema(
        operation_id="mindzie_action_execution_last", tags=["mindzie"], summary="Get Last Execution of an Action",
        parameters=[*PATH_PARAMS, ACTION_PARAM],
        responses={200: MindzieExecutionSerializer, 404: OpenApiResponse(
            MindzieErrorSerializer, description=f"`Action not found`, `{NO_EXECUTION_YET}`, " + NOT_REACHED + "."),
            **UNAUTHORIZED},
        examples=[OpenApiExample("Completed", response_only=True, value=EXECUTION_EXAMPLE)],
    )
    def get(self, request, tenantId, projectId, actionId):
        action = self.get_action(self.get_project())
        execution = self.executions_of(action).first()
        if execution is None:
            raise MindzieError(404, {"error": NO_EXECUTION_YET, "actionId": actionId})
        return Response(execution_body(execution))


class MindzieDownloadPackageView(MindzieView):
    """An ended action execution's package: its input, task runs, outputs and logs."""

    serializer_class = MindziePackageSerializer
    renderer_classes = [renderers.JSONRenderer, ZipPackageRenderer]

    @extend_schema(
        operation_id="mindzie_action_execution_download_package", tags=["mindzie"],
        summary="Download Action Execution Package",
        description="JSON by default; a zip of one JSON file per part with `Accept: application/zip` "
                    "(or `?format=zip`).",
        parameters=[*PATH_PARAMS, EXECUTION_PARAM],
        responses={
            (200, "application/json"): MindziePackageSerializer,
            (200, "application/zip"): OpenApiResponse(OpenApiTypes.BINARY, description="The package as a zip."),
            (404, "application/json"): OpenApiResponse(
                MindzieErrorSerializer, description="`Action execution not found`, " + NOT_REACHED + "."),
            (409, "application/json"): OpenApiResponse(
                MindzieErrorSerializer, description="The execution is still `Queued` or `Running`."),
            (401, "application/json"): UNAUTHORIZED[401],
        },
    )
    def get(self, request, tenantId, projectId, actionExecutionId):
        execution = self.get_action_execution(self.get_project())
        if not execution.is_terminal:
            raise MindzieError(409, {"error": NOT_ENDED, "actionExecutionId": actionExecutionId,
                                     "status": status_word("mindzie", execution.status)})
        response = Response(package_body(execution))
        if request.accepted_renderer.format == ZipPackageRenderer.format:
            response["Content-Disposition"] = f'attachment; filename="action-execution-{execution.id}.zip"'
        return response

    def finalize_response(self, request, response, *args, **kwargs):
        # Errors are JSON even when a zip was asked for.
        if response.status_code >= 400 and getattr(request, "accepted_renderer", None) is not None \
                and request.accepted_renderer.format == ZipPackageRenderer.format:
            request.accepted_renderer, request.accepted_media_type = renderers.JSONRenderer(), "application/json"
        return super().finalize_response(request, response, *args, **kwargs)
