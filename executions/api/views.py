"""Native execution endpoints: start (async or waiting), read, logs, task runs, cancel, retry."""

from __future__ import annotations

import uuid

from django.db import DatabaseError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response

from accounts.scoping import TenantScopedMixin
from config.counting import TAG_COUNT_CAP
from config.errors import ErrorSerializer
from executions import services
from executions.api.filters import ExecutionFilter, LogFilter
from executions.api.serializers import (
    ExecutionDetailSerializer,
    ExecutionSerializer,
    LogSerializer,
    RetryExecutionSerializer,
    StartExecutionSerializer,
    TaskRunSerializer,
    execution_detail,
    execution_detail_in_hand,
    for_listing,
    with_related,
)
from executions.models import TERMINAL_STATUSES, Execution, Log, TaskRun
from executions.waiters import wait_until_ended
from workflows.services import get_workflow_for

ERRORS = {code: OpenApiResponse(ErrorSerializer) for code in (400, 401, 403, 404)}
WAIT_PARAM = OpenApiParameter(
    "wait", OpenApiTypes.NUMBER, description="Wait up to this many seconds (bounded by the server) for the "
    "execution to end; answers 200 when it ended, 202 with the execution when it is still going.")
IDEMPOTENCY_PARAM = OpenApiParameter(
    "Idempotency-Key", OpenApiTypes.STR, OpenApiParameter.HEADER,
    description="The same key with the same body returns the first execution; with another body, 422.")


def start_from_request(request, data: dict):
    """Shared by the native start and the surfaces that start a workflow by id or alias."""
    caller = request.auth
    try:
        workflow = get_workflow_for(caller, data["workflow"])
    except NotFound:
        raise ValidationError({"workflow": [f"No workflow with id or alias {data['workflow']!r}."]}) from None
    return services.start_execution(
        caller=caller, workflow=workflow, input=data.get("input") or {}, tags=data.get("tags") or {},
        linked_account_id=data.get("linked_account_id", ""),
        options={name: data[name] for name in ("flow_run", "callback_url") if data.get(name)} or None,
        idempotency_key=request.headers.get("Idempotency-Key") or None,
        # The workflow's id, not the alias sent: keys are unique in the tenant, aliases only in a project.
        fingerprint_payload={"workflow": str(workflow.id),
                             **{k: data.get(k) for k in ("input", "tags", "linked_account_id", "flow_run")},
                             # Only when given: the keys stored before callbacks existed keep their fingerprints.
                             **({"callback_url": data["callback_url"]} if data.get("callback_url") else {})},
    )


def parse_wait(request) -> float | None:
    raw = request.query_params.get("wait")
    if raw is None or raw == "":
        return None
    try:
        return services.clamp_wait(raw)
    except ValueError:
        raise ValidationError({"wait": ["Must be a number of seconds, zero or more."]}) from None


@extend_schema_view(
    list=extend_schema(summary="List executions", responses={200: ExecutionSerializer(many=True), **ERRORS}),
    retrieve=extend_schema(summary="Get an execution", responses={200: ExecutionDetailSerializer, **ERRORS}),
)
class ExecutionViewSet(TenantScopedMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    queryset = Execution.objects.all()
    serializer_class = ExecutionSerializer
    filterset_class = ExecutionFilter

    def get_serializer_class(self):
        return ExecutionDetailSerializer if self.action == "retrieve" else ExecutionSerializer

    def get_count_cap(self, request) -> int | None:
        """A tag filter counts to TAG_COUNT_CAP: the tags' index finds the rows, but counting them reads each."""
        return TAG_COUNT_CAP if self.action == "list" and request.query_params.get("tag") else None

    def get_queryset(self):
        queryset = super().get_queryset()
        if self.action in ("logs", "tasks", "task", "task_logs"):
            # The execution is only looked up (for the caller's access): its id is all these use.
            return queryset.only("id")
        return for_listing(queryset) if self.action == "list" else with_related(queryset)

    def retrieve(self, request, pk=None):
        # One compiled read, scoped to the caller (see serializers.execution_detail); a malformed or
        # another tenant's id answers 404 like a missing one.
        detail = execution_detail(pk, request.auth)
        if detail is None:
            raise NotFound(services.EXECUTION_NOT_FOUND)
        return Response(detail)

    def get_object(self):
        execution = services.get_execution_for(self.request.auth, self.kwargs["pk"], self.get_queryset())
        self.check_object_permissions(self.request, execution)
        return execution

    @extend_schema(summary="Start an execution", request=StartExecutionSerializer,
                   parameters=[WAIT_PARAM, IDEMPOTENCY_PARAM],
                   responses={201: ExecutionDetailSerializer, 200: ExecutionDetailSerializer,
                              202: ExecutionDetailSerializer, 422: ErrorSerializer, 409: ErrorSerializer, **ERRORS})
    def create(self, request):
        serializer = StartExecutionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        wait = parse_wait(request)
        execution, created = start_from_request(request, serializer.validated_data)
        if wait is not None:
            return self._answer_after_wait(execution, wait)
        if created:
            code = status.HTTP_201_CREATED  # the new row holds its workflow, version and flow run already
        else:
            code = status.HTTP_200_OK  # the Idempotency-Key's first execution, read with its related rows
            execution = self.get_queryset().get(pk=execution.pk)
        return Response(ExecutionDetailSerializer(execution).data, status=code)

    @staticmethod
    def _answer_after_wait(execution: Execution, wait: float) -> Response:
        """200 with the ended execution; 202 with it (for its id) when it is still going, when no wait
        slot was free, or when the database stopped answering: it was committed, so it will run."""
        ended = wait_until_ended(execution.id, wait)
        try:
            detail = execution_detail(execution.id)
        except DatabaseError:
            detail = None
        if detail is None:
            return Response(execution_detail_in_hand(execution), status=status.HTTP_202_ACCEPTED)
        ended = ended or detail["status"] in TERMINAL_STATUSES
        return Response(detail, status=status.HTTP_200_OK if ended else status.HTTP_202_ACCEPTED)

    @extend_schema(summary="Cancel an execution", request=None,
                   responses={200: ExecutionDetailSerializer, 409: ErrorSerializer, **ERRORS})
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        execution = services.cancel_execution(self.get_object(), request.auth)
        return Response(ExecutionDetailSerializer(execution).data)

    @extend_schema(summary="Retry a failed execution, optionally from one of its tasks",
                   request=RetryExecutionSerializer,
                   responses={200: ExecutionDetailSerializer, 409: ErrorSerializer, **ERRORS})
    @action(detail=True, methods=["post"])
    def retry(self, request, pk=None):
        serializer = RetryExecutionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        execution = services.retry_execution(self.get_object(), request.auth,
                                             from_task=serializer.validated_data.get("task"))
        return Response(ExecutionDetailSerializer(execution).data)

    @extend_schema(summary="An execution's logs, oldest first", filters=False,
                   parameters=[OpenApiParameter("level", OpenApiTypes.STR, many=True,
                                                enum=["debug", "info", "warning", "error"])],
                   responses={200: LogSerializer(many=True), **ERRORS})
    @action(detail=True, methods=["get"], filterset_class=LogFilter)
    def logs(self, request, pk=None):
        execution = self.get_object()
        return self._paginated_logs(Log.objects.filter(execution=execution))

    @extend_schema(summary="An execution's task runs", responses={200: TaskRunSerializer(many=True), **ERRORS})
    @action(detail=True, methods=["get"], filterset_class=None)
    def tasks(self, request, pk=None):
        execution = self.get_object()
        page = self.paginate_queryset(TaskRun.objects.filter(execution=execution))
        return self.get_paginated_response(TaskRunSerializer(page, many=True).data)

    @extend_schema(summary="One task run (by id or task name)", responses={200: TaskRunSerializer, **ERRORS})
    @action(detail=True, methods=["get"], url_path=r"tasks/(?P<task_id>[^/]+)", filterset_class=None,
            pagination_class=None)
    def task(self, request, pk=None, task_id=None):
        return Response(TaskRunSerializer(self._task_run(task_id)).data)

    @extend_schema(summary="One task run's logs", filters=False,
                   parameters=[OpenApiParameter("level", OpenApiTypes.STR, many=True,
                                                enum=["debug", "info", "warning", "error"])],
                   responses={200: LogSerializer(many=True), **ERRORS})
    @action(detail=True, methods=["get"], url_path=r"tasks/(?P<task_id>[^/]+)/logs", filterset_class=LogFilter)
    def task_logs(self, request, pk=None, task_id=None):
        return self._paginated_logs(Log.objects.filter(task_run=self._task_run(task_id)))

    def _task_run(self, task_id: str) -> TaskRun:
        execution = self.get_object()
        try:
            lookup = {"pk": uuid.UUID(task_id)}
        except ValueError:
            lookup = {"name": task_id}
        task_run = TaskRun.objects.filter(execution=execution, **lookup).first()
        if task_run is None:
            raise NotFound("Task run not found.")
        return task_run

    def _paginated_logs(self, queryset):
        # The action's filterset_class (LogFilter); an invalid filter answers 400.
        page = self.paginate_queryset(self.filter_queryset(queryset))
        return self.get_paginated_response(LogSerializer(page, many=True).data)

    @property
    def cursor_ordering(self):
        if self.action in ("logs", "task_logs"):
            return ("timestamp", "id")
        if self.action == "tasks":
            return ("position", "id")
        return ("-created_at", "-id")
