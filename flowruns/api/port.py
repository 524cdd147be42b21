"""Port's flow-runs API: ``/api/v1/flow-runs`` and ``/api/v1/flow-runs/{id_}``.

A translation only: Port's names, bodies, status codes and error shapes over ``flowruns.services``.
Errors answer ``{"detail": str}``, and 422 ``{"detail": [{"loc", "msg", "type"}]}`` (FastAPI's shape).
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db.models import Exists, OuterRef
from django.http import Http404, HttpResponse
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, generics, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from accounts.models import OPERATOR_ROLES
from accounts.permissions import ALL_ROLES
from accounts.scoping import TenantScopedMixin
from config.errors import QueryParameterInvalid, native_exception_handler, register_surface_paths
from config.pagination import KeysetCursorPagination
from config.parsers import JSONParser
from flowruns.api.serializers import (
    PortErrorSerializer,
    PortFlowRunCreateSerializer,
    PortFlowRunQuerySerializer,
    PortFlowRunSerializer,
    PortFlowRunUpsertSerializer,
    PortValidationErrorSerializer,
    problem,
    validation_errors,
)
from flowruns.models import FlowRun, FlowRunTag
from flowruns.services import (
    FLOW_RUN_NOT_FOUND,
    ID_MAX_LENGTH,
    ID_PATTERN,
    ID_RE,
    count_flow_runs,
    create_flow_run,
    delete_flow_run,
    get_flow_run_for,
    upsert_flow_run,
)

TAGS = ["Port flow runs"]
OK = "Successful Response"


class PortValidationError(exceptions.APIException):
    """422 with pydantic-style problems, already located (``["body", "flowId"]``)."""

    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_code = "unprocessable"

    def __init__(self, problems: list[dict]) -> None:
        super().__init__("Invalid request.")
        self.problems = problems


def port_exception_handler(exc, context):
    """Port's error bodies: ``{"detail": str}``, and a list of problems for 422."""
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(FLOW_RUN_NOT_FOUND)
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()

    if isinstance(exc, PortValidationError):
        return Response({"detail": exc.problems}, status=exc.status_code)
    if isinstance(exc, exceptions.ParseError):
        message = str(exc.detail).removeprefix("JSON parse error - ")
        return Response({"detail": [problem(["body"], message, "value_error.jsondecode")]},
                        status=status.HTTP_422_UNPROCESSABLE_ENTITY)
    if isinstance(exc, exceptions.ValidationError):
        location = "query" if isinstance(exc, QueryParameterInvalid) else "body"
        return Response({"detail": validation_errors(exc.detail, (location,))},
                        status=status.HTTP_422_UNPROCESSABLE_ENTITY)

    response = drf_exception_handler(exc, context)
    if response is None:
        # Unexpected: the native handler logs it; answer in Port's shape.
        response = native_exception_handler(exc, context)
        if response is not None:
            response.data = {"detail": response.data["detail"]}
        return response
    detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
    if isinstance(detail, dict | list):
        detail = "; ".join(e["msg"] for e in validation_errors(detail)) or "Error."
    response.data = {"detail": str(detail)}
    return response


def validated(serializer_class, data, location: str, extra: list[dict] | None = None):
    """The serializer's validated data, or PortValidationError with every problem (``extra`` too)."""
    serializer = serializer_class(data=data)
    problems = list(extra or [])
    if not serializer.is_valid():
        problems.extend(validation_errors(serializer.errors, (location,)))
    if problems:
        raise PortValidationError(problems)
    return serializer


def path_id_problems(id_: str) -> list[dict]:
    if not ID_RE.fullmatch(id_):
        return [problem(["path", "id_"], f'string does not match regex "{ID_PATTERN}"', "value_error.str.regex")]
    if len(id_) > ID_MAX_LENGTH:
        return [problem(["path", "id_"], f"ensure this value has at most {ID_MAX_LENGTH} characters",
                        "value_error.any_str.max_length")]
    return []


def filter_flow_runs(queryset, filters: dict):
    """Narrow by the list's query parameters (see PortFlowRunQuerySerializer)."""
    if "flowId" in filters:
        queryset = queryset.filter(flow_id=filters["flowId"])
    if "flowType" in filters:
        queryset = queryset.filter(flow_type=filters["flowType"])
    if "phase" in filters:
        queryset = queryset.filter(phase=filters["phase"])
    if "createdAfter" in filters:
        queryset = queryset.filter(created_at__gte=filters["createdAfter"])
    if "createdBefore" in filters:
        queryset = queryset.filter(created_at__lt=filters["createdBefore"])
    for tag in filters.get("tag") or []:
        key, sep, value = tag.partition(":")
        rows = FlowRunTag.objects.filter(flow_run=OuterRef("pk"), key=key)
        queryset = queryset.filter(Exists(rows.filter(value=value) if sep else rows))
    return queryset


ERRORS = {
    401: OpenApiResponse(PortErrorSerializer, description="No or bad credentials."),
    403: OpenApiResponse(PortErrorSerializer, description="The caller's role may not do this."),
    422: OpenApiResponse(PortValidationErrorSerializer, description="Validation Error"),
}
UNSUPPORTED = {415: OpenApiResponse(PortErrorSerializer, description="The body is not application/json.")}
NOT_FOUND = {404: OpenApiResponse(PortErrorSerializer, description="No such flow run in the caller's tenant.")}
ID_PARAMETER = OpenApiParameter("id_", str, OpenApiParameter.PATH, pattern=ID_PATTERN,
                                description="The flow run's id.")


class PortView(TenantScopedMixin, generics.GenericAPIView):
    queryset = FlowRun.objects.all()
    read_roles = ALL_ROLES
    write_roles = OPERATOR_ROLES
    filter_backends: list = []
    parser_classes = [JSONParser]
    # Port's document promises an exact total; indexes on the filters keep counting it fast.
    pagination_class = KeysetCursorPagination
    cursor_ordering = ("-created_at", "-id")

    def get_exception_handler(self):
        return port_exception_handler


# An unknown path under Port's prefix, or a request refused before its view runs, answers Port's body.
register_surface_paths(r"^/api/v1/flow-runs(?:/|$)", PortView)


class FlowRunListView(PortView):
    """``GET`` and ``POST /api/v1/flow-runs``."""

    @extend_schema(
        operation_id="port_get_flow_runs", summary="Get Flow Runs", tags=TAGS,
        parameters=[PortFlowRunQuerySerializer],
        responses={200: OpenApiResponse(PortFlowRunSerializer(many=True), description=OK), **ERRORS},
        description="The caller's flow runs, newest first, with cursors to walk the pages either way.",
    )
    def get(self, request):
        filters = validated(PortFlowRunQuerySerializer, request.query_params, "query").validated_data
        self.filters = {name: value for name, value in filters.items() if name not in ("cursor", "limit")}
        queryset = filter_flow_runs(self.get_queryset(), filters)
        try:
            page = self.paginate_queryset(queryset)
        except exceptions.ValidationError as exc:
            raise PortValidationError(validation_errors(exc.detail, ("query",))) from None
        return self.get_paginated_response(PortFlowRunSerializer(page, many=True).data)

    def count_total(self, queryset) -> int:
        """The exact total: the kept counts without filters or by phase alone, else a COUNT the filters' indexes answer."""
        if set(self.filters) <= {"phase"}:
            return count_flow_runs(self.request.auth, self.filters.get("phase"))
        return queryset.count()

    @extend_schema(
        operation_id="port_create_flow_run", summary="Create Flow Run", tags=TAGS,
        request=PortFlowRunCreateSerializer,
        responses={201: OpenApiResponse(PortFlowRunSerializer, description="Created."), **ERRORS, **UNSUPPORTED,
                   409: OpenApiResponse(PortErrorSerializer, description="The id is taken; PUT replaces a run.")},
        description="Create a flow run. Without `id`, one is generated; `flowType` defaults to selfServiceAction.",
    )
    def post(self, request):
        body = validated(PortFlowRunCreateSerializer, request.data, "body")
        run = create_flow_run(request.auth, **body.model_values())
        return Response(PortFlowRunSerializer(run).data, status=status.HTTP_201_CREATED)


class FlowRunDetailView(PortView):
    """``GET``, ``PUT`` (upsert) and ``DELETE /api/v1/flow-runs/{id_}``."""

    @extend_schema(
        operation_id="port_get_flow_run", summary="Get Flow Run", tags=TAGS, parameters=[ID_PARAMETER],
        responses={200: OpenApiResponse(PortFlowRunSerializer, description=OK), **ERRORS, **NOT_FOUND},
        description="One flow run of the caller's tenant.",
    )
    def get(self, request, id_: str):
        return Response(PortFlowRunSerializer(get_flow_run_for(request.auth, id_)).data)

    @extend_schema(
        operation_id="port_upsert_flow_run", summary="Upsert Flow Run", tags=TAGS, parameters=[ID_PARAMETER],
        request=PortFlowRunUpsertSerializer,
        responses={200: OpenApiResponse(PortFlowRunSerializer, description="Replaced."),
                   201: OpenApiResponse(PortFlowRunSerializer, description="Created."), **ERRORS, **UNSUPPORTED,
                   409: OpenApiResponse(PortErrorSerializer, description="The id is taken in this tenant by a run "
                                                                         "outside the key's project.")},
        description=("Create the run when the id is new, else replace it: every field of the body, an absent one "
                     "reset. createdAt and createdBy survive; updatedAt and updatedBy are the caller's."),
    )
    def put(self, request, id_: str):
        problems = path_id_problems(id_)
        data = request.data
        body_id = data.get("id") if hasattr(data, "get") else None
        if isinstance(body_id, str) and body_id != id_:
            problems.append(problem(["body", "id"], "id must equal the id_ in the path (or be left out)",
                                    "value_error"))
        body = validated(PortFlowRunUpsertSerializer, data, "body", extra=problems)
        run, created = upsert_flow_run(request.auth, id_, body.model_values(timezone.now()))
        return Response(PortFlowRunSerializer(run).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    @extend_schema(
        operation_id="port_delete_flow_run", summary="Delete Flow Run", tags=TAGS, parameters=[ID_PARAMETER],
        description="Delete a flow run. Executions that reported to it keep running and stop reporting.",
        responses={200: OpenApiResponse({"nullable": True, "description": "Always null."},
                                        description="Deleted; the body is JSON null."), **ERRORS, **NOT_FOUND},
    )
    def delete(self, request, id_: str):
        problems = path_id_problems(id_)
        if problems:
            raise PortValidationError(problems)
        delete_flow_run(get_flow_run_for(request.auth, id_))
        return HttpResponse(b"null", content_type="application/json")
