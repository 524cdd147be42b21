"""mindzie's Execute Action API, at mindzie's paths, with its bodies and status words.

* ``GET /api/{tenantId}/{projectId}/action/execute/{actionId}``: queue a run of the action's
  steps; 200 ``{"actionId", "actionExecutionId", "dateStarted", "dateEnded", "status", "notes"}``.
* ``GET /api/{tenantId}/{projectId}/action/{actionId}``: does the action exist, is it enabled.
* ``GET /api/{tenantId}/{projectId}/action/execution/{actionExecutionId}``: an execution's progress,
  in the execute response's shape (``Queued``, ``Running``, ``Completed``, ``Failed``).

Errors are ``{"error": "...", ...}``: 404 ``Action not found`` and ``Action can't create
execution`` (with ``actionId``), 401 for bad credentials. A tenant or project in the path that the
credentials do not reach answers 404, like a missing one.
"""

from __future__ import annotations

import logging
import uuid

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, generics, serializers
from rest_framework.response import Response

from accounts.authentication import BearerKeyAuthentication, HeaderKeyAuthentication
from accounts.models import Project
from accounts.permissions import ALL_ROLES
from config.errors import native_exception_handler
from config.formats import iso
from executions.models import TERMINAL_STATUSES, Execution, ExecutionStatus
from executions.services import get_execution_for
from executions.status_words import status_word, surface_words
from records.actions import ActionRefused, failure_messages, get_action_for, perform_action
from records.models import Action

logger = logging.getLogger("flowgate.mindzie")

ACTION_NOT_FOUND = "Action not found"
CANNOT_EXECUTE = "Action can't create execution"
EXECUTION_NOT_FOUND = "Action execution not found"


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
    actionId = serializers.UUIDField(help_text="The action being executed.")
    actionExecutionId = serializers.UUIDField(help_text="This execution; keep it to track progress.")
    dateStarted = serializers.DateTimeField(help_text="When the execution was queued.")
    dateEnded = serializers.DateTimeField(allow_null=True, help_text="When it ended (null while it runs).")
    status = serializers.CharField(help_text=f"One of {', '.join(surface_words('mindzie'))}.")
    notes = serializers.CharField(allow_null=True, help_text="Error messages when it failed, else null.")


class MindzieActionSerializer(serializers.Serializer):
    actionId = serializers.UUIDField()
    name = serializers.CharField()
    description = serializers.CharField()
    enabled = serializers.BooleanField()


class MindzieErrorSerializer(serializers.Serializer):
    error = serializers.CharField()
    actionId = serializers.CharField(required=False, help_text="The action id from the path, when it is about one.")
    actionExecutionId = serializers.CharField(required=False, help_text="The execution id from the path, when it "
                                                                          "is about one.")
    tenantId = serializers.CharField(required=False, help_text="The tenant id from the path, when no tenant the "
                                                               "token reaches has it.")
    projectId = serializers.CharField(required=False, help_text="The project id from the path, when no project "
                                                                "the token reaches has it.")


def execution_body(execution: Execution) -> dict:
    failed = execution.status in (ExecutionStatus.FAILED, ExecutionStatus.CANCELLED)
    return {
        "actionId": str(execution.action_link.action_id) if execution.action_link.action_id else None,
        "actionExecutionId": str(execution.id),
        "dateStarted": iso(execution.created_at),
        "dateEnded": iso(execution.ended_at) if execution.status in TERMINAL_STATUSES else None,
        "status": status_word("mindzie", execution.status),
        "notes": "; ".join(failure_messages(execution)) if failed else None,
    }


def _guid(raw: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(raw))
    except ValueError:
        return None


PATH_PARAMS = [
    OpenApiParameter("tenantId", OpenApiTypes.UUID, OpenApiParameter.PATH, description="Your tenant id."),
    OpenApiParameter("projectId", OpenApiTypes.UUID, OpenApiParameter.PATH, description="Your project id."),
]
ACTION_PARAM = OpenApiParameter("actionId", OpenApiTypes.UUID, OpenApiParameter.PATH, description="The action.")
UNAUTHORIZED = {401: OpenApiResponse(MindzieErrorSerializer, description="Missing or invalid token.")}
FORBIDDEN = {403: OpenApiResponse(MindzieErrorSerializer, description="The token's role may not run this action.")}


class MindzieView(generics.GenericAPIView):
    filter_backends: list = []
    pagination_class = None
    read_roles = ALL_ROLES

    def get_exception_handler(self):
        return mindzie_exception_handler

    def get_project(self) -> Project:
        """The path's project, if the caller's tenant owns it and the credentials reach it; else 404."""
        caller = self.request.auth
        tenant_id, project_id = _guid(self.kwargs["tenantId"]), _guid(self.kwargs["projectId"])
        if tenant_id is None or tenant_id != caller.tenant_id:
            raise MindzieError(404, {"error": "Tenant not found", "tenantId": self.kwargs["tenantId"]})
        project = Project.objects.for_caller(caller).filter(pk=project_id).first() if project_id else None
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
                                 "execution` (disabled, requirements not met, or no steps), or a tenant or project "
                                 "the token does not reach."),
            **UNAUTHORIZED, **FORBIDDEN,
        },
        examples=[
            OpenApiExample("Queued", response_only=True, value={
                "actionId": "87654321-4321-4321-4321-210987654321",
                "actionExecutionId": "11111111-2222-3333-4444-555555555555",
                "dateStarted": "2024-01-15T10:30:00Z", "dateEnded": None, "status": "Queued", "notes": None}),
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


class MindzieActionExecutionView(MindzieView):
    """An action execution's progress, in the execute response's shape."""

    serializer_class = MindzieExecutionSerializer

    @extend_schema(
        operation_id="mindzie_action_execution_retrieve", tags=["mindzie"], summary="Get Action Execution",
        parameters=[*PATH_PARAMS, OpenApiParameter("actionExecutionId", OpenApiTypes.UUID, OpenApiParameter.PATH,
                                                   description="The id Execute Action answered.")],
        responses={200: MindzieExecutionSerializer, 404: OpenApiResponse(
            MindzieErrorSerializer, description="`Action execution not found`."), **UNAUTHORIZED},
    )
    def get(self, request, tenantId, projectId, actionExecutionId):
        project = self.get_project()
        pk = _guid(actionExecutionId)
        try:
            execution = get_execution_for(request.auth, pk, Execution.objects.select_related("action_link").filter(
                project=project, action_link__action__isnull=False))
        except exceptions.NotFound:
            raise MindzieError(404, {"error": EXECUTION_NOT_FOUND, "actionExecutionId": actionExecutionId}) from None
        return Response(execution_body(execution))
