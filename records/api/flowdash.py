"""Flowdash's Actions API, at Flowdash's paths, with Flowdash's bodies, status codes and words.

* ``GET  /api/v1/workflows/{workflow_id}/tasks/{unique_id}/actions``: the actions offered in the
  task's stage, ``[{"id", "name"}]``.
* ``POST /api/v1/workflows/{workflow_id}/executions``: execute an action on a task (``task_id``,
  ``action_id``, optional ``performed_by``), or, without them, start the workflow with ``input``.
  Answers ``{"id", "status": "Pending"}``; unmet requirements answer 422 listing every one.
* ``GET  /api/v1/workflows/{workflow_id}/executions/{execution_id}``: ``{"id", "status"}`` with
  ``Pending``, ``Success`` or ``Fail`` (plus the failing step's ``errors``).

Every error on these paths is ``{"status": "Fail", "errors": ["..."]}``. The user-confirmation
requirement of Flowdash's UI is not asked over the API, as Flowdash documents.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, generics, serializers, status
from rest_framework.response import Response

from accounts.permissions import ALL_ROLES
from config.errors import body_lines, native_exception_handler, register_surface_paths
from config.fields import JSONObjectField
from executions.models import Execution
from executions.services import get_execution_for, start_execution
from executions.status_words import status_word, surface_words
from records.actions import (
    ActionRefused,
    failure_messages,
    get_action_for,
    offered_actions,
    perform_action,
    resolve_performer,
)
from records.models import Record
from records.services import get_record_for
from workflows.services import get_workflow_for

FLOWDASH_WORDS = ", ".join(surface_words("flowdash"))
BAD_JSON = ("The request body is not valid JSON ({reason}). Send a JSON object such as "
            '{{"task_id": "678", "action_id": "edHR10"}}, with no trailing comma after the last member.')


def flowdash_exception_handler(exc, context):
    """Every error as ``{"status": "Fail", "errors": [...]}``, with the native status code."""
    if isinstance(exc, ActionRefused):
        return Response({"status": "Fail", "errors": exc.errors}, status=exc.status_code)
    if isinstance(exc, exceptions.ParseError):
        exc = exceptions.ParseError(BAD_JSON.format(reason=str(exc.detail).rstrip(".")))
    response = native_exception_handler(exc, context)
    if response is None:
        return None
    response.data = {"status": "Fail", "errors": body_lines(response.data)}
    return response


# -- shapes (for validation and the OpenAPI document) ---------------------------------------------------
class FlowdashActionSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="The action's id, like edHR10.")
    name = serializers.CharField()


class FlowdashExecuteSerializer(serializers.Serializer):
    task_id = serializers.CharField(required=False, allow_null=True,
                                    help_text="The task's unique id (like 678), as a string or a number.")
    action_id = serializers.CharField(required=False, allow_null=True, help_text="The action's id, like edHR10.")
    performed_by = serializers.CharField(required=False, allow_null=True, allow_blank=True,
                                         help_text="Email of the user performing the action; they need "
                                                   "permission to perform it.")
    input = JSONObjectField(required=False, allow_null=True, help_text="Without task_id and action_id: the input of "
                                                                       "a run of the workflow itself.")

    def validate_task_id(self, value):
        if value is not None and not str(value).strip().isdigit():
            raise serializers.ValidationError(f"{value!r} is not a task id; use the task's number, like 678.")
        return value


class FlowdashExecutionSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="The execution id.")
    status = serializers.CharField(help_text=f"One of {FLOWDASH_WORDS}.")
    errors = serializers.ListField(child=serializers.CharField(), required=False,
                                   help_text='Only when the status is "Fail": what the failing step said.')


class FlowdashErrorSerializer(serializers.Serializer):
    status = serializers.CharField(help_text='Always "Fail".')
    errors = serializers.ListField(child=serializers.CharField(), help_text="Every problem, one message each.")


def _errors(*codes: int, **descriptions: str) -> dict:
    defaults = {
        400: "Malformed request (for example invalid JSON).",
        401: "Missing or invalid credentials.",
        403: "The caller (or performed_by) may not do this.",
        404: "No such workflow, task, action or execution for the caller.",
        409: "The workflow is disabled.",
        422: "Unmet requirements, an action not offered in the task's stage, or an unknown performed_by.",
    }
    return {code: OpenApiResponse(FlowdashErrorSerializer, description=defaults[code]) for code in codes}


WORKFLOW_PARAM = OpenApiParameter("workflow_id", OpenApiTypes.STR, OpenApiParameter.PATH,
                                  description="The workflow's id or alias (like abc123).")


class FlowdashView(generics.GenericAPIView):
    filter_backends: list = []
    pagination_class = None

    def get_exception_handler(self):
        return flowdash_exception_handler


# An unknown path under Flowdash's prefixes, or a request refused before its view runs, answers Flowdash's body.
register_surface_paths(r"^/api/v1/workflows/[^/]+/(?:executions|tasks/[^/]+/actions)(?:/|$)", FlowdashView)


class FlowdashTaskActionsView(FlowdashView):
    """The actions available for a task: enabled, and offered in the task's stage."""

    serializer_class = FlowdashActionSerializer

    @extend_schema(
        operation_id="flowdash_task_actions", tags=["Flowdash"], summary="List a task's available actions",
        parameters=[WORKFLOW_PARAM, OpenApiParameter("unique_id", OpenApiTypes.INT, OpenApiParameter.PATH,
                                                     description="The task's unique id, like 678.")],
        responses={200: FlowdashActionSerializer(many=True), **_errors(401, 403, 404)},
        examples=[OpenApiExample("Two actions", value=[{"id": "edHR10", "name": "Approve"},
                                                       {"id": "PvHaOO", "name": "Reject"}], response_only=True)],
    )
    def get(self, request, workflow_id, unique_id):
        workflow = get_workflow_for(request.auth, workflow_id)
        record = get_record_for(request.auth, workflow, unique_id, Record.objects.only("id", "workflow", "stage"))
        return Response([{"id": action.short_id, "name": action.name} for action in offered_actions(record)])


class FlowdashExecutionsView(FlowdashView):
    """Execute an action on a task (asynchronously), or start the workflow itself."""

    serializer_class = FlowdashExecuteSerializer
    # The action decides who may perform it (workflows.actions.check_caller).
    write_roles = ALL_ROLES

    @extend_schema(
        operation_id="flowdash_execution_create", tags=["Flowdash"], summary="Create an action execution",
        parameters=[WORKFLOW_PARAM, OpenApiParameter(
            "Idempotency-Key", OpenApiTypes.STR, OpenApiParameter.HEADER,
            description="Repeating a request with the same key returns the first execution.")],
        request=FlowdashExecuteSerializer,
        responses={201: FlowdashExecutionSerializer, 200: OpenApiResponse(
            FlowdashExecutionSerializer, description="An Idempotency-Key replay: the first execution."),
            **_errors(400, 401, 403, 404, 409, 422)},
        examples=[
            OpenApiExample("Execute an action", request_only=True,
                           value={"task_id": "678", "action_id": "edHR10", "performed_by": "harry@hogwarts.edu"}),
            OpenApiExample("Queued", response_only=True, status_codes=["201"],
                           value={"id": "0b7e9e0a-5c1c-4c55-9d0e-6f1d2f7b2a10", "status": "Pending"}),
            OpenApiExample("Missing requirements", response_only=True, status_codes=["422"], value={
                "status": "Fail", "errors": ["Name is required", "Checklist must be completed", "Must be assigned",
                                             "Name must include honorable prefix"]}),
        ],
    )
    def post(self, request, workflow_id):
        caller = request.auth
        if not isinstance(request.data, dict):
            raise exceptions.ValidationError("The body must be a JSON object with task_id and action_id.")
        serializer = FlowdashExecuteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        workflow = get_workflow_for(caller, workflow_id)
        task_id, action_id = data.get("task_id"), data.get("action_id")
        idempotency_key = request.headers.get("Idempotency-Key") or None
        if task_id is None and action_id is None:
            if not caller.can_operate:
                raise exceptions.PermissionDenied(f"Your role ({caller.role}) may not start workflows; it needs "
                                                  "admin or workflow.")
            execution, created = start_execution(
                caller=caller, workflow=workflow, input=data.get("input") or {}, idempotency_key=idempotency_key,
                fingerprint_payload={"workflow": str(workflow.id), "input": data.get("input") or {}},
            )
        elif task_id is None or action_id is None:
            raise exceptions.ValidationError("Send both task_id and action_id to execute an action on a task, or "
                                             "neither (with input) to start the workflow.")
        else:
            record = get_record_for(caller, workflow, task_id)
            action = get_action_for(caller, action_id)
            performer = resolve_performer(caller, data.get("performed_by"))
            execution, created = perform_action(caller=caller, action=action, record=record, performed_by=performer,
                                                idempotency_key=idempotency_key)
        body = {"id": str(execution.id), "status": status_word("flowdash", execution.status)}
        return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class FlowdashExecutionView(FlowdashView):
    """The status of an execution: Pending, Success, or Fail with the failing step's errors."""

    serializer_class = FlowdashExecutionSerializer

    @extend_schema(
        operation_id="flowdash_execution_retrieve", tags=["Flowdash"], summary="Get an action execution's status",
        parameters=[WORKFLOW_PARAM, OpenApiParameter("execution_id", OpenApiTypes.STR, OpenApiParameter.PATH,
                                                     description="The id the POST answered.")],
        responses={200: FlowdashExecutionSerializer, **_errors(401, 404)},
        examples=[
            OpenApiExample("Succeeded", response_only=True,
                           value={"id": "0b7e9e0a-5c1c-4c55-9d0e-6f1d2f7b2a10", "status": "Success"}),
            OpenApiExample("Failed", response_only=True, value={
                "id": "0b7e9e0a-5c1c-4c55-9d0e-6f1d2f7b2a10", "status": "Fail", "errors": ["foo is not a valid email"]}),
        ],
    )
    def get(self, request, workflow_id, execution_id):
        workflow = get_workflow_for(request.auth, workflow_id)
        execution = get_execution_for(request.auth, execution_id, Execution.objects.filter(workflow=workflow))
        body = {"id": str(execution.id), "status": status_word("flowdash", execution.status)}
        if body["status"] == "Fail":
            body["errors"] = failure_messages(execution)
        return Response(body)
