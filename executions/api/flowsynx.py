"""FlowSynx's workflow-execution API, served at the server root over the shared services.

Ten endpoints under ``/workflows/{workflowId}/executions``. Every answer, errors included, is
FlowSynx's envelope ``{"data", "messages", "succeeded", "generatedAtUtc"}`` with camelCase
fields. Callers authenticate with Bearer (an API key) or Basic (a user); only the ``admin`` and
``workflow`` roles may call these endpoints. Ids are UUIDs: a malformed one answers 404 like a
missing one, and so does another tenant's object. Status words come from ``executions.status_words``.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import exceptions, serializers
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.authentication import BearerKeyAuthentication, TenantBasicAuthentication
from accounts.models import OPERATOR_ROLES
from accounts.permissions import HasTenantRole
from config.errors import body_lines, native_exception_handler, register_surface_paths
from config.fields import JSONObjectField
from config.parsers import JSONParser
from config.values import parse_number
from executions import services
from executions.models import Execution, Log, TaskRun
from executions.status_words import status_word, surface_words
from workflows.models import Workflow
from workflows.services import get_workflow_for

SURFACE = "flowsynx"
# Lists answer at most this many items per request; ``page`` (from 1) reaches the rest.
DEFAULT_PAGE_SIZE = 1000
MAX_PAGE_SIZE = 1000
# The database's OFFSET is a 64-bit integer; a page starting past it is past every list's end.
MAX_OFFSET = 2**63 - 1
LOG_LEVELS = {"debug": "Debug", "info": "Info", "warning": "Warning", "error": "Error"}

STARTED = "Workflow execution started."
CANCELED = "The workflow execution has been canceled."
WORKFLOW_NOT_FOUND = "Workflow {id} not found."
EXECUTION_NOT_FOUND = "Workflow execution {id} not found for workflow {workflow}."
TASK_NOT_FOUND = "Task execution {id} not found in workflow execution {execution}."


# -- shapes --------------------------------------------------------------------------------------------
def utc(moment) -> str | None:
    """FlowSynx's timestamp form, ``2025-09-14T10:30:00Z`` (UTC, whole seconds)."""
    if moment is None:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def envelope(data, messages=(), succeeded: bool = True) -> dict:
    return {"data": data, "messages": list(messages), "succeeded": succeeded, "generatedAtUtc": utc(timezone.now())}


def workflow_document(execution: Execution) -> str:
    """The definition the execution ran, as FlowSynx's JSON string of name, description and tasks."""
    workflow = execution.workflow
    return json.dumps({
        "name": workflow.name if workflow is not None else "",
        "description": workflow.description if workflow is not None else "",
        "tasks": execution.get_definition().get("tasks", []),
    })


def execution_item(execution: Execution) -> dict:
    return {
        "id": str(execution.id),
        "status": status_word(SURFACE, execution.status),
        "executionStart": utc(execution.created_at),
        "executionEnd": utc(execution.ended_at),
    }


def execution_details(execution: Execution) -> dict:
    return {
        "workflowId": str(execution.workflow_id),
        "executionId": str(execution.id),
        "workflow": workflow_document(execution),
        "status": status_word(SURFACE, execution.status),
        "executionStart": utc(execution.created_at),
        "executionEnd": utc(execution.ended_at),
    }


def task_details(task_run: TaskRun) -> dict:
    return {
        "id": str(task_run.id),
        "status": status_word(SURFACE, task_run.status),
        "message": task_run.message or None,
        "startTime": utc(task_run.started_at),
        "endTime": utc(task_run.ended_at),
    }


def task_item(task_run: TaskRun, execution: Execution) -> dict:
    """A task in the list: the details plus its name, workflow and execution, in the document's order."""
    details = task_details(task_run)
    return {"id": details.pop("id"), "name": task_run.name, "workflowId": str(execution.workflow_id),
            "workflowExecutionId": str(execution.id), **details}


def log_item(log: Log) -> dict:
    return {
        "id": str(log.uuid),
        "message": log.message,
        "level": LOG_LEVELS.get(log.level, log.level.capitalize()),
        "timeStamp": utc(log.timestamp),
        "exception": log.exception or None,
    }


# -- errors --------------------------------------------------------------------------------------------
def flowsynx_exception_handler(exc, context):
    """Every error in the envelope: ``data`` null, ``succeeded`` false, ``messages`` saying why."""
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(exc.messages)
    response = native_exception_handler(exc, context)
    if response is None:
        return None
    response.data = envelope(None, body_lines(response.data), succeeded=False)
    return response


# -- OpenAPI -------------------------------------------------------------------------------------------
def _envelope_schema(name: str, data) -> serializers.Serializer:
    return inline_serializer(name=name, fields={
        "data": data,
        "messages": serializers.ListField(child=serializers.CharField()),
        "succeeded": serializers.BooleanField(),
        "generatedAtUtc": serializers.DateTimeField(help_text="When the answer was made (UTC)."),
    })


def word_field(words: list[str], component: str, **kwargs) -> serializers.Field:
    """A string field documented with an enum of one component's own.

    Every surface has a field named ``status`` with its own words; giving each component's enum
    its own id keeps drf-spectacular's enum naming unambiguous.
    """

    @extend_schema_field({"type": "string", "enum": list(words), "x-spec-enum-id": f"{component}:{','.join(words)}"})
    class WordField(serializers.CharField):
        pass

    return WordField(**kwargs)


EXECUTION_WORDS = surface_words(SURFACE)
TASK_WORDS = surface_words(SURFACE, executions_only=False)
_EXECUTION_ITEM = inline_serializer("FlowSynxExecutionItem", fields={
    "id": serializers.UUIDField(),
    "status": word_field(EXECUTION_WORDS, "FlowSynxExecutionItem"),
    "executionStart": serializers.DateTimeField(help_text="When the execution was started (requested)."),
    "executionEnd": serializers.DateTimeField(allow_null=True),
}, many=True)
_EXECUTION_DETAILS = inline_serializer("FlowSynxExecutionDetails", fields={
    "workflowId": serializers.UUIDField(),
    "executionId": serializers.UUIDField(),
    "workflow": serializers.CharField(help_text='The definition it ran: a JSON string of {"name", "description", "tasks"}.'),
    "status": word_field(EXECUTION_WORDS, "FlowSynxExecutionDetails"),
    "executionStart": serializers.DateTimeField(),
    "executionEnd": serializers.DateTimeField(allow_null=True),
})
_LOG_ITEM = inline_serializer("FlowSynxLog", fields={
    "id": serializers.UUIDField(),
    "message": serializers.CharField(),
    "level": word_field(list(LOG_LEVELS.values()), "FlowSynxLog"),
    "timeStamp": serializers.DateTimeField(),
    "exception": serializers.CharField(allow_null=True),
}, many=True)
_TASK_ITEM = inline_serializer("FlowSynxTaskExecution", fields={
    "id": serializers.UUIDField(),
    "name": serializers.CharField(),
    "workflowId": serializers.UUIDField(),
    "workflowExecutionId": serializers.UUIDField(),
    "status": word_field(TASK_WORDS, "FlowSynxTaskExecution"),
    "message": serializers.CharField(allow_null=True),
    "startTime": serializers.DateTimeField(allow_null=True),
    "endTime": serializers.DateTimeField(allow_null=True),
}, many=True)
_TASK_DETAILS = inline_serializer("FlowSynxTaskExecutionDetails", fields={
    "id": serializers.UUIDField(),
    "status": word_field(TASK_WORDS, "FlowSynxTaskExecutionDetails"),
    "message": serializers.CharField(allow_null=True),
    "startTime": serializers.DateTimeField(allow_null=True),
    "endTime": serializers.DateTimeField(allow_null=True),
})
_STARTED = inline_serializer("FlowSynxExecutionStarted", fields={
    "workflowId": serializers.UUIDField(),
    "executionId": serializers.UUIDField(),
    "startedAt": serializers.DateTimeField(),
})

EXECUTIONS_ENVELOPE = _envelope_schema("FlowSynxExecutionsEnvelope", _EXECUTION_ITEM)
DETAILS_ENVELOPE = _envelope_schema("FlowSynxExecutionDetailsEnvelope", _EXECUTION_DETAILS)
LOGS_ENVELOPE = _envelope_schema("FlowSynxLogsEnvelope", _LOG_ITEM)
TASKS_ENVELOPE = _envelope_schema("FlowSynxTaskExecutionsEnvelope", _TASK_ITEM)
TASK_ENVELOPE = _envelope_schema("FlowSynxTaskExecutionDetailsEnvelope", _TASK_DETAILS)
STARTED_ENVELOPE = _envelope_schema("FlowSynxExecutionStartedEnvelope", _STARTED)
EMPTY_ENVELOPE = _envelope_schema("FlowSynxEmptyEnvelope", serializers.DictField(help_text="Always {}."))
ERROR_ENVELOPE = _envelope_schema(
    "FlowSynxErrorEnvelope", serializers.JSONField(allow_null=True, help_text="Always null on errors."))

ERRORS = {
    code: OpenApiResponse(ERROR_ENVELOPE, description=text) for code, text in (
        (401, "No or bad credentials (with WWW-Authenticate)."),
        (403, "The caller's role is not admin or workflow."),
        (404, "No such workflow, execution, task execution or approval for this caller (also for malformed ids)."),
    )
}


def path_parameter(name: str, description: str) -> OpenApiParameter:
    return OpenApiParameter(name, OpenApiTypes.UUID, OpenApiParameter.PATH, description=description)


WORKFLOW_ID = path_parameter("workflowId", "The workflow's id.")
EXECUTION_ID = path_parameter("executionId", "The workflow execution's id.")
TASK_ID = path_parameter("taskExecutionId", "The task execution's id.")
PAGING = [
    OpenApiParameter("page", {"type": "integer", "minimum": 1}, description="Page number, from 1 (default 1)."),
    OpenApiParameter("pageSize", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE},
                     description=f"Items per page, 1-{MAX_PAGE_SIZE} (default {DEFAULT_PAGE_SIZE})."),
]


def flowsynx_schema(summary: str, operation_id: str, responses: dict, parameters: list, **kwargs):
    return extend_schema(summary=summary, operation_id=operation_id, tags=["FlowSynx"], parameters=parameters,
                         responses={**responses, **ERRORS}, **kwargs)


# -- requests ------------------------------------------------------------------------------------------
class FlowSynxExecute(serializers.Serializer):
    workflowId = serializers.UUIDField(help_text="Must be the workflow in the path.")  # noqa: N815
    input = JSONObjectField(required=False, default=dict, help_text="The execution's input (an object).",
                            error_messages={"not_an_object": "Must be a JSON object."})


def parse_id(raw: str, message: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(raw))
    except ValueError:
        raise exceptions.NotFound(message) from None


def _positive_int(request, name: str, default: int, maximum: int | None = None) -> int:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return default
    try:
        return parse_number(raw, integer=True, minimum=1, maximum=maximum)
    except ValueError:
        limit = f" and at most {maximum}" if maximum is not None else ""
        raise exceptions.ValidationError({name: [f"Must be a whole number, 1 or more{limit}."]}) from None


def page_of(request, queryset) -> list:
    """One page of a list: ``page`` from 1, ``pageSize`` items (one query, whatever the page).

    The rows before the page are skipped in a sub-select of primary keys alone, which an index
    answers without reading the table; only the page's own rows are read in full.
    """
    page = _positive_int(request, "page", 1)
    size = _positive_int(request, "pageSize", DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
    start = (page - 1) * size
    if start + size > MAX_OFFSET:
        return []
    if start == 0:
        return list(queryset[:size])
    return list(queryset.filter(pk__in=queryset.values("pk")[start:start + size]))


# -- views ---------------------------------------------------------------------------------------------
class FlowSynxView(APIView):
    """Common ground: authentication, roles, the envelope and the lookups by path ids."""

    authentication_classes = [BearerKeyAuthentication, TenantBasicAuthentication]
    permission_classes = [HasTenantRole]
    read_roles = OPERATOR_ROLES
    write_roles = OPERATOR_ROLES
    renderer_classes = [JSONRenderer]
    parser_classes = [JSONParser]

    def get_exception_handler(self):
        return flowsynx_exception_handler

    def get_authenticate_header(self, request) -> str:
        return 'Bearer realm="flowgate", Basic realm="flowgate"'

    @staticmethod
    def answer(data, *messages: str) -> Response:
        return Response(envelope(data, messages))

    def get_workflow(self) -> Workflow:
        raw = self.kwargs["workflowId"]
        workflow_id = parse_id(raw, WORKFLOW_NOT_FOUND.format(id=raw))
        try:
            return get_workflow_for(self.request.auth, str(workflow_id))
        except exceptions.NotFound:
            raise exceptions.NotFound(WORKFLOW_NOT_FOUND.format(id=raw)) from None

    def get_execution(self, *, with_definition: bool = False) -> Execution:
        """The caller's execution in the path, which must belong to the path's workflow.

        ``with_definition`` also reads its workflow and version, for the answer that shows them.
        """
        raw_workflow, raw = self.kwargs["workflowId"], self.kwargs["executionId"]
        message = EXECUTION_NOT_FOUND.format(id=raw, workflow=raw_workflow)
        workflow_id, execution_id = parse_id(raw_workflow, message), parse_id(raw, message)
        queryset = Execution.objects.filter(workflow_id=workflow_id)
        if with_definition:
            queryset = queryset.select_related("workflow", "workflow_version")
        try:
            return services.get_execution_for(self.request.auth, execution_id, queryset)
        except exceptions.NotFound:
            raise exceptions.NotFound(message) from None

    def get_task_run(self, execution: Execution) -> TaskRun:
        raw = self.kwargs["taskExecutionId"]
        message = TASK_NOT_FOUND.format(id=raw, execution=execution.id)
        task_run = TaskRun.objects.filter(execution=execution, pk=parse_id(raw, message)).first()
        if task_run is None:
            raise exceptions.NotFound(message)
        return task_run


# An unknown path under FlowSynx's root prefix, or a request refused before its view runs, answers the envelope.
register_surface_paths(r"^/workflows/", FlowSynxView)


class ExecutionsView(FlowSynxView):
    """``/workflows/{workflowId}/executions``: list (GET) and execute (POST)."""

    @flowsynx_schema("List workflow executions", "flowsynx_list_executions", {
        200: EXECUTIONS_ENVELOPE,
        400: OpenApiResponse(ERROR_ENVELOPE, description="page or pageSize is not a whole number in range.")},
        [WORKFLOW_ID, *PAGING], description="Newest first.")
    def get(self, request, workflowId):  # noqa: N803
        workflow = self.get_workflow()
        executions = Execution.objects.for_caller(request.auth).filter(workflow=workflow).only(
            "id", "status", "created_at", "ended_at").order_by("-created_at", "-id")
        return self.answer([execution_item(e) for e in page_of(request, executions)])

    @flowsynx_schema(
        "Execute a workflow", "flowsynx_execute_workflow",
        {200: STARTED_ENVELOPE, 400: OpenApiResponse(ERROR_ENVELOPE, description="Bad body, or its workflowId "
                                                     "is not the workflow in the path."),
         409: OpenApiResponse(ERROR_ENVELOPE, description="The workflow is disabled.")},
        [WORKFLOW_ID], request=FlowSynxExecute,
        description="Queues an execution and answers at once with its id (200).")
    def post(self, request, workflowId):  # noqa: N803
        workflow = self.get_workflow()
        if not isinstance(request.data, dict):
            raise exceptions.ValidationError(['The body must be a JSON object like {"workflowId": "<uuid>"}.'])
        body = FlowSynxExecute(data=request.data)
        body.is_valid(raise_exception=True)
        if body.validated_data["workflowId"] != workflow.id:
            raise exceptions.ValidationError({"workflowId": [
                f"{body.validated_data['workflowId']} is not the workflow in the path ({workflow.id}); "
                "send the same id in both."]})
        execution, _ = services.start_execution(caller=request.auth, workflow=workflow,
                                                input=body.validated_data["input"])
        return self.answer({"workflowId": str(workflow.id), "executionId": str(execution.id),
                            "startedAt": utc(execution.created_at)}, STARTED)


class ExecutionDetailsView(FlowSynxView):
    @flowsynx_schema("Get workflow execution details", "flowsynx_get_execution", {200: DETAILS_ENVELOPE},
                     [WORKFLOW_ID, EXECUTION_ID])
    def get(self, request, workflowId, executionId):  # noqa: N803
        return self.answer(execution_details(self.get_execution(with_definition=True)))


class ExecutionLogsView(FlowSynxView):
    @flowsynx_schema("Get workflow execution logs", "flowsynx_execution_logs", {200: LOGS_ENVELOPE},
                     [WORKFLOW_ID, EXECUTION_ID, *PAGING],
                     description="Every log line of the execution and its tasks, oldest first.")
    def get(self, request, workflowId, executionId):  # noqa: N803
        execution = self.get_execution()
        logs = Log.objects.filter(execution=execution).order_by("timestamp", "id")
        return self.answer([log_item(log) for log in page_of(request, logs)])


class ExecutionTasksView(FlowSynxView):
    @flowsynx_schema("List workflow execution tasks", "flowsynx_execution_tasks", {200: TASKS_ENVELOPE},
                     [WORKFLOW_ID, EXECUTION_ID, *PAGING], description="In definition order.")
    def get(self, request, workflowId, executionId):  # noqa: N803
        execution = self.get_execution()
        task_runs = TaskRun.objects.filter(execution=execution).order_by("position", "name")
        return self.answer([task_item(tr, execution) for tr in page_of(request, task_runs)])


class TaskDetailsView(FlowSynxView):
    @flowsynx_schema("Get workflow execution task details", "flowsynx_get_task_execution", {200: TASK_ENVELOPE},
                     [WORKFLOW_ID, EXECUTION_ID, TASK_ID])
    def get(self, request, workflowId, executionId, taskExecutionId):  # noqa: N803
        return self.answer(task_details(self.get_task_run(self.get_execution())))


class TaskLogsView(FlowSynxView):
    @flowsynx_schema("Get workflow execution task logs", "flowsynx_task_execution_logs", {200: LOGS_ENVELOPE},
                     [WORKFLOW_ID, EXECUTION_ID, TASK_ID, *PAGING], description="Oldest first.")
    def get(self, request, workflowId, executionId, taskExecutionId):  # noqa: N803
        task_run = self.get_task_run(self.get_execution())
        logs = Log.objects.filter(task_run=task_run).order_by("timestamp", "id")
        return self.answer([log_item(log) for log in page_of(request, logs)])


class CancelView(FlowSynxView):
    @flowsynx_schema(
        "Cancel a workflow execution", "flowsynx_cancel_execution",
        {200: EMPTY_ENVELOPE, 409: OpenApiResponse(ERROR_ENVELOPE, description="The execution has already ended.")},
        [WORKFLOW_ID, EXECUTION_ID], request=None,
        description="A queued or waiting execution is cancelled at once, a running one after its current task.")
    def post(self, request, workflowId, executionId):  # noqa: N803
        services.cancel_execution(self.get_execution(), request.auth)
        return self.answer({}, CANCELED)
