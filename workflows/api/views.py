"""Native workflow endpoints: CRUD, look-up by id or alias, versions."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.scoping import TenantScopedMixin
from config.errors import ErrorSerializer
from executions import services as execution_services
from workflows import services
from workflows.api.filters import WorkflowFilter
from workflows.api.serializers import WorkflowDetailSerializer, WorkflowSerializer, WorkflowVersionSerializer
from workflows.models import Workflow

ERRORS = {code: OpenApiResponse(ErrorSerializer) for code in (400, 401, 403, 404)}


@extend_schema_view(
    list=extend_schema(summary="List workflows", responses={200: WorkflowSerializer(many=True), **ERRORS}),
    retrieve=extend_schema(summary="Get a workflow by id or alias", responses={200: WorkflowDetailSerializer, **ERRORS}),
    create=extend_schema(summary="Create a workflow", responses={201: WorkflowDetailSerializer, **ERRORS}),
    update=extend_schema(summary="Replace a workflow (a changed definition makes a new version)",
                         responses={200: WorkflowDetailSerializer, **ERRORS}),
    partial_update=extend_schema(summary="Change a workflow", responses={200: WorkflowDetailSerializer, **ERRORS}),
    destroy=extend_schema(summary="Delete a workflow and its finished executions",
                          responses={204: None, **ERRORS, 409: OpenApiResponse(ErrorSerializer)}),
)
class WorkflowViewSet(TenantScopedMixin, viewsets.ModelViewSet):
    queryset = Workflow.objects.select_related("project")
    serializer_class = WorkflowSerializer
    filterset_class = WorkflowFilter
    lookup_value_regex = "[^/]+"
    action_roles = {"destroy": {"admin"}}

    def get_serializer_class(self):
        if self.action in ("retrieve", "create", "update", "partial_update"):
            return WorkflowDetailSerializer
        return WorkflowSerializer

    def get_object(self):
        workflow = services.get_workflow_for(self.request.auth, self.kwargs["pk"], self.get_queryset())
        self.check_object_permissions(self.request, workflow)
        return workflow

    def perform_create(self, serializer):
        serializer.instance = services.create_workflow(user=self.request.auth.person, **serializer.validated_data)

    def perform_update(self, serializer):
        data = dict(serializer.validated_data)
        data.pop("project", None)  # validate() refused a move to another project
        serializer.instance = services.update_workflow(serializer.instance, user=self.request.auth.person, **data)

    def perform_destroy(self, instance):
        execution_services.delete_workflow(instance)

    @extend_schema(summary="List a workflow's versions", responses={200: WorkflowVersionSerializer(many=True), **ERRORS})
    @action(detail=True, methods=["get"])
    def versions(self, request, pk=None):
        workflow = self.get_object()
        queryset = workflow.versions.order_by("-number")
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(WorkflowVersionSerializer(page, many=True).data)

    @extend_schema(summary="Get one version of a workflow", responses={200: WorkflowVersionSerializer, **ERRORS})
    @action(detail=True, methods=["get"], url_path=r"versions/(?P<number>\d+)", pagination_class=None)
    def version(self, request, pk=None, number=None):
        workflow = self.get_object()
        return Response(WorkflowVersionSerializer(services.version_for(workflow, int(number))).data)

    @property
    def cursor_ordering(self):
        return ("-number", "-id") if self.action == "versions" else ("-created_at", "-id")
