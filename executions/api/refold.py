"""Refold's Workflow API over the shared services: ``/execute`` and ``/response``.

``POST /api/v1/workflow/{workflow_id or alias}/execute`` starts an execution whose input is the
request body, with Refold's headers: ``x-api-key`` (a Bearer key works too), ``linked_account_id``
(recorded on the execution), ``slug`` (must be the workflow's integration slug) and
``sync_execution`` (wait for the ``response`` task's value, bounded by
``FLOWGATE_SYNC_WAIT_DEFAULT_SECONDS`` and ``FLOWGATE_MAX_SYNC_WAIT_SECONDS``).
``GET /api/v1/execution/{execution_id}/response`` answers the return value and the status word.

Errors answer ``{"statusCode": int, "message": str, "error": str}`` (``error`` is the HTTP
reason phrase).
"""

from __future__ import annotations

from http import HTTPStatus

from django.conf import settings
from django.db import DatabaseError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.authentication import BearerKeyAuthentication, HeaderKeyAuthentication
from accounts.models import OPERATOR_ROLES
from accounts.permissions import ALL_ROLES, HasTenantRole
from config.errors import body_lines, native_exception_handler, register_surface_paths
from config.parsers import JSONParser
from config.values import parse_truth
from executions import services
from executions.api.flowsynx import word_field
from executions.models import ExecutionStatus, RetryPolicy
from executions.status_words import status_word, surface_words
from workflows.services import WORKFLOW_NOT_FOUND, get_workflow_for, version_for

SURFACE = "refold"
GROUP_NOT_ALLOWED = "sync_execution = true is not allowed if the workflow contains a Group Node."
MAX_LINKED_ACCOUNT_ID = 200
# Django's request.META names of Refold's headers. A header written with hyphens
# (linked-account-id) lands on the same name.
LINKED_ACCOUNT_HEADER = "HTTP_LINKED_ACCOUNT_ID"
SLUG_HEADER = "HTTP_SLUG"
SYNC_HEADER = "HTTP_SYNC_EXECUTION"
# The words Refold documents for the sync_execution header; yes/no, on/off and 1/0 are not among them.
SYNC_WORDS = ("true", "false")


# -- errors --------------------------------------------------------------------------------------------
def error_body(code: int, message: str) -> dict:
    return {"statusCode": code, "message": message, "error": HTTPStatus(code).phrase}


def refold_exception_handler(exc, context):
    """Every error as ``{"statusCode", "message", "error"}``."""
    response = native_exception_handler(exc, context)
    if response is None:
        return None
    response.data = error_body(response.status_code, "; ".join(body_lines(response.data)))
    return response


# -- OpenAPI -------------------------------------------------------------------------------------------
ERROR = inline_serializer("RefoldError", fields={
    "statusCode": serializers.IntegerField(help_text="The HTTP status code again."),
    "message": serializers.CharField(help_text="What went wrong and how to fix it."),
    "error": serializers.CharField(help_text="The HTTP reason phrase, e.g. Not Found."),
})
EXECUTE_RESPONSE = inline_serializer("RefoldExecuteResponse", fields={
    "execution_id": serializers.UUIDField(),
    "return_value": serializers.JSONField(
        required=False, allow_null=True,
        help_text="With sync_execution: true, the value the workflow's response task set."),
    "status": word_field(["ERRORED"], "RefoldExecuteResponse", required=False,
                         help_text="Only on a synchronous run that failed or was cancelled."),
    "errors": serializers.ListField(child=serializers.CharField(), required=False,
                                    help_text="Only on a synchronous run that failed: why."),
})
PENDING_RESPONSE = inline_serializer("RefoldExecutionPending", fields={"execution_id": serializers.UUIDField()})
RESPONSE_RESPONSE = inline_serializer("RefoldExecutionResponse", fields={
    "response": serializers.JSONField(allow_null=True, help_text="The value the workflow's response task set."),
    "status": word_field(surface_words(SURFACE), "RefoldExecutionResponse"),
})


def _header(name: str, description: str, type_=OpenApiTypes.STR, required: bool = False) -> OpenApiParameter:
    return OpenApiParameter(name, type_, OpenApiParameter.HEADER, required=required, description=description)


LINKED_ACCOUNT_PARAM = _header("linked_account_id", "The linked account the workflow runs for; recorded on the "
                                                    "execution (native API filter `linked_account_id`).")


# -- views ---------------------------------------------------------------------------------------------
class RefoldView(APIView):
    authentication_classes = [HeaderKeyAuthentication, BearerKeyAuthentication]
    permission_classes = [HasTenantRole]
    renderer_classes = [JSONRenderer]
    parser_classes = [JSONParser]

    def get_exception_handler(self):
        return refold_exception_handler

    def get_authenticate_header(self, request) -> str:
        return 'ApiKey realm="flowgate", header="x-api-key"'


# An unknown path under Refold's prefixes, or a request refused before its view runs, answers Refold's body.
register_surface_paths(r"^/api/v1/(?:workflow|execution)/", RefoldView)


def parse_sync(raw: str | None) -> bool:
    """The ``sync_execution`` header: true or false in any case (Refold's document names no other words)."""
    if raw is None or raw.strip() == "":
        return False
    sync = parse_truth(raw, words=SYNC_WORDS)
    if sync is None:
        raise exceptions.ValidationError(f"sync_execution must be true or false, not {raw!r}.")
    return sync


def has_group_task(definition: dict) -> bool:
    return any(task.get("type") == "group" for task in definition.get("tasks", []))


class ExecuteView(RefoldView):
    """``POST /api/v1/workflow/{workflow_id or alias}/execute``."""

    write_roles = OPERATOR_ROLES

    @extend_schema(
        summary="Execute a workflow (Refold)", operation_id="refold_execute_workflow", tags=["Refold"],
        parameters=[
            OpenApiParameter("workflow_id", OpenApiTypes.STR, OpenApiParameter.PATH,
                             description="The workflow's id, or its alias."),
            LINKED_ACCOUNT_PARAM,
            _header("slug", "The integration slug of the workflow; must equal the workflow's integration slug."),
            _header("sync_execution", "true: wait (bounded by the server) for the workflow to end and answer its "
                                      "return_value. Default false.", OpenApiTypes.BOOL),
        ],
        request={"application/json": OpenApiTypes.OBJECT},
        responses={
            200: OpenApiResponse(EXECUTE_RESPONSE, description="Queued (execution_id), or with sync_execution: "
                                                               "true, ended (execution_id and return_value)."),
            202: OpenApiResponse(PENDING_RESPONSE, description="sync_execution: true, but the execution had not "
                                                               "ended within the server's wait bound."),
            400: OpenApiResponse(ERROR, description="Body not a JSON object, slug mismatch, bad sync_execution, or "
                                                    "sync_execution: true on a workflow with a group task."),
            401: OpenApiResponse(ERROR, description="No or bad API key."),
            403: OpenApiResponse(ERROR, description="The key's role may not start executions."),
            404: OpenApiResponse(ERROR, description="No workflow with this id or alias."),
            409: OpenApiResponse(ERROR, description="The workflow is disabled."),
        },
        description="The request body is the execution's input (`{}` when there is none).",
    )
    def post(self, request, workflow_id):
        caller = request.auth
        try:
            workflow = get_workflow_for(caller, workflow_id)
        except exceptions.NotFound as exc:
            raise exceptions.NotFound(f"No workflow with id or alias {workflow_id!r}; check the id or alias in "
                                      "the URL." if exc.detail == WORKFLOW_NOT_FOUND else exc.detail) from None
        slug = request.META.get(SLUG_HEADER, "").strip()
        if slug != workflow.integration_slug:
            raise exceptions.ValidationError(
                f"The slug header is missing; workflow {workflow_id!r} belongs to integration "
                f"{workflow.integration_slug!r}, so send slug: {workflow.integration_slug}." if not slug else
                f"slug {slug!r} is not the integration of workflow {workflow_id!r}; send slug: "
                f"{workflow.integration_slug}." if workflow.integration_slug else
                f"Workflow {workflow_id!r} has no integration slug, so leave the slug header out "
                f"(or set the workflow's integration_slug to {slug!r}).")
        sync = parse_sync(request.META.get(SYNC_HEADER))
        linked_account_id = request.META.get(LINKED_ACCOUNT_HEADER, "").strip()
        if len(linked_account_id) > MAX_LINKED_ACCOUNT_ID:
            raise exceptions.ValidationError(f"linked_account_id must be at most {MAX_LINKED_ACCOUNT_ID} characters.")
        payload = request.data
        if not isinstance(payload, dict):
            raise exceptions.ValidationError("The body must be a JSON object (send {} when there is no input).")
        version = version_for(workflow)
        if sync and has_group_task(version.definition):
            raise exceptions.ValidationError(GROUP_NOT_ALLOWED)

        # A caller waiting for the answer does not wait for retries of optional (skip_on_error) nodes.
        execution, _ = services.start_execution(
            caller=caller, workflow=workflow, version=version, input=payload, linked_account_id=linked_account_id,
            retry_policy=RetryPolicy.REQUIRED_ONLY if sync else RetryPolicy.AS_DEFINED)
        if not sync:
            return Response({"execution_id": str(execution.id)})
        try:
            execution = services.wait_for_execution(
                execution.id, services.clamp_wait(settings.FLOWGATE_SYNC_WAIT_DEFAULT_SECONDS))
        except DatabaseError:  # committed, so it will run: its id is the answer, never a 500
            return Response({"execution_id": str(execution.id)}, status=status.HTTP_202_ACCEPTED)
        if not execution.is_terminal:
            return Response({"execution_id": str(execution.id)}, status=status.HTTP_202_ACCEPTED)
        body = {"return_value": execution.return_value, "execution_id": str(execution.id)}
        if execution.status != ExecutionStatus.SUCCEEDED:
            body.update(status=status_word(SURFACE, execution.status), errors=[str(e) for e in execution.errors])
        return Response(body)


class ResponseView(RefoldView):
    """``GET /api/v1/execution/{execution_id}/response``."""

    read_roles = ALL_ROLES

    @extend_schema(
        summary="Get an execution's response (Refold)", operation_id="refold_execution_response", tags=["Refold"],
        parameters=[
            OpenApiParameter("execution_id", OpenApiTypes.UUID, OpenApiParameter.PATH),
            _header("linked_account_id", "The linked account the execution ran for; must match it."),
        ],
        responses={
            200: RESPONSE_RESPONSE,
            401: OpenApiResponse(ERROR, description="No or bad API key."),
            404: OpenApiResponse(ERROR, description="No such execution for this key and linked account."),
        },
    )
    def get(self, request, execution_id):
        linked_account_id = request.META.get(LINKED_ACCOUNT_HEADER, "").strip()
        message = (f"No execution {execution_id} for linked account {linked_account_id!r}; send the "
                   "linked_account_id header the execution was started with.")
        try:
            execution = services.get_execution_for(request.auth, execution_id)
        except exceptions.NotFound:
            raise exceptions.NotFound(message) from None
        if linked_account_id != execution.linked_account_id:
            raise exceptions.NotFound(message)
        return Response({"response": execution.return_value, "status": status_word(SURFACE, execution.status)})
