"""The project calls of mindzie's Python client (its ``projects`` controller).

Projects, ``/api/{tenantId}/project...`` (PascalCase, as mindzie's client models read them):

* ``GET project?page=&pageSize=``: ``{"Projects": [...], "TotalCount", "Page", "PageSize"}``, by name.
* ``GET project/{projectId}``: one project, ``{"ProjectId", "TenantId", "ProjectName", ...}``.
* ``GET project/{projectId}/summary``: the project with ``Statistics`` (counts).
* ``GET project/ping`` (credentials checked), ``GET project/unauthorized-ping`` (none needed).

A Flowgate project has no datasets, investigations, dashboards or notebooks, so those counts are
0; its users are the tenant's members. The summary adds Flowgate's own counts (workflows,
actions, executions), which mindzie's client ignores.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from accounts.models import Membership, Project
from config.counting import COUNT_CAP, capped_count
from config.formats import iso
from executions.models import Execution
from records.api.mindzie import (
    BAD_PAGE,
    NOT_REACHED,
    PAGE_PARAMS,
    PATH_PARAMS,
    TENANT_PARAM,
    UNAUTHORIZED,
    MindzieErrorSerializer,
    MindziePingView,
    MindzieUnauthorizedPingView,
    MindzieView,
    page_of,
    ping_schema,
)
from records.models import Action
from workflows.models import Workflow


# -- shapes ---------------------------------------------------------------------------------------------
class MindzieProjectSerializer(serializers.Serializer):
    ProjectId = serializers.UUIDField()
    TenantId = serializers.UUIDField()
    ProjectName = serializers.CharField()
    ProjectDescription = serializers.CharField(allow_null=True, help_text="Flowgate projects have none (null).")
    DateCreated = serializers.DateTimeField()
    DateModified = serializers.DateTimeField(allow_null=True)
    CreatedBy = serializers.CharField(allow_null=True)
    ModifiedBy = serializers.CharField(allow_null=True)
    IsActive = serializers.BooleanField()
    DatasetCount = serializers.IntegerField(help_text="Always 0: Flowgate has no datasets.")
    InvestigationCount = serializers.IntegerField(help_text="Always 0.")
    DashboardCount = serializers.IntegerField(help_text="Always 0.")
    UserCount = serializers.IntegerField(help_text="The tenant's members (every member reaches every project).")


class MindzieProjectListSerializer(serializers.Serializer):
    Projects = MindzieProjectSerializer(many=True, help_text="By name.")
    TotalCount = serializers.IntegerField(help_text="Projects in all pages.")
    Page = serializers.IntegerField()
    PageSize = serializers.IntegerField()


class MindzieProjectStatisticsSerializer(serializers.Serializer):
    TotalDatasets = serializers.IntegerField()
    TotalInvestigations = serializers.IntegerField()
    TotalDashboards = serializers.IntegerField()
    TotalNotebooks = serializers.IntegerField()
    TotalUsers = serializers.IntegerField()
    TotalWorkflows = serializers.IntegerField(help_text="Flowgate's own count.")
    TotalActions = serializers.IntegerField(help_text="Flowgate's own count.")
    TotalExecutions = serializers.IntegerField(
        help_text=f"Flowgate's own count of the executions in the project, up to {COUNT_CAP:,}: with more, "
                  f"{COUNT_CAP} and TotalExecutionsCapped true.")
    TotalExecutionsCapped = serializers.BooleanField(
        help_text=f"True when the project holds more than {COUNT_CAP:,} executions (counting stops there).")


class MindzieProjectSummarySerializer(serializers.Serializer):
    ProjectId = serializers.UUIDField()
    ProjectName = serializers.CharField()
    ProjectDescription = serializers.CharField(allow_null=True)
    DateCreated = serializers.DateTimeField()
    DateModified = serializers.DateTimeField(allow_null=True)
    Statistics = MindzieProjectStatisticsSerializer()


def project_body(project: Project, *, user_count: int) -> dict:
    return {
        "ProjectId": str(project.id), "TenantId": str(project.tenant_id), "ProjectName": project.name,
        "ProjectDescription": None, "DateCreated": iso(project.created_at), "DateModified": None,
        "CreatedBy": None, "ModifiedBy": None, "IsActive": True,
        "DatasetCount": 0, "InvestigationCount": 0, "DashboardCount": 0, "UserCount": user_count,
    }


PROJECT_EXAMPLE = {
    "ProjectId": "87654321-4321-4321-4321-210987654321", "TenantId": "12345678-1234-1234-1234-123456789012",
    "ProjectName": "Default", "ProjectDescription": None, "DateCreated": "2024-01-15T10:30:00Z",
    "DateModified": None, "CreatedBy": None, "ModifiedBy": None, "IsActive": True, "DatasetCount": 0,
    "InvestigationCount": 0, "DashboardCount": 0, "UserCount": 2}
PROJECT_NOT_FOUND = {404: OpenApiResponse(MindzieErrorSerializer, description="`Project not found`, " + NOT_REACHED
                                          + ".")}
TENANT_NOT_FOUND = {404: OpenApiResponse(MindzieErrorSerializer, description="`Tenant not found`: not the "
                                         "token's tenant.")}


class MindzieProjectView(MindzieView):
    def member_count(self) -> int:
        return Membership.objects.for_tenant(self.request.auth.tenant_id).count()


# -- projects -----------------------------------------------------------------------------------------------
class MindzieProjectListView(MindzieProjectView):
    """The tenant's projects the credentials reach, by name, a page at a time."""

    serializer_class = MindzieProjectListSerializer

    @extend_schema(
        operation_id="mindzie_project_list", tags=["mindzie"], summary="Get All Projects",
        parameters=[TENANT_PARAM, *PAGE_PARAMS],
        responses={200: MindzieProjectListSerializer, **BAD_PAGE, **TENANT_NOT_FOUND, **UNAUTHORIZED},
        examples=[OpenApiExample("Projects", response_only=True, value={
            "Projects": [PROJECT_EXAMPLE], "TotalCount": 1, "Page": 1, "PageSize": 50})],
    )
    def get(self, request, tenantId):
        self.get_tenant()
        rows, total, page, size = page_of(request, Project.objects.for_caller(request.auth).order_by("name", "id"))
        users = self.member_count() if rows else 0
        return Response({"Projects": [project_body(p, user_count=users) for p in rows], "TotalCount": total,
                         "Page": page, "PageSize": size})


class MindzieProjectDetailView(MindzieProjectView):
    """One project."""

    serializer_class = MindzieProjectSerializer

    @extend_schema(
        operation_id="mindzie_project_retrieve", tags=["mindzie"], summary="Get Project",
        parameters=PATH_PARAMS, responses={200: MindzieProjectSerializer, **PROJECT_NOT_FOUND, **UNAUTHORIZED},
        examples=[OpenApiExample("Project", response_only=True, value=PROJECT_EXAMPLE)],
    )
    def get(self, request, tenantId, projectId):
        return Response(project_body(self.get_project(), user_count=self.member_count()))


class MindzieProjectSummaryView(MindzieProjectView):
    """One project with counts of what it holds."""

    serializer_class = MindzieProjectSummarySerializer

    @extend_schema(
        operation_id="mindzie_project_summary", tags=["mindzie"], summary="Get Project Summary",
        parameters=PATH_PARAMS,
        responses={200: MindzieProjectSummarySerializer, **PROJECT_NOT_FOUND, **UNAUTHORIZED},
    )
    def get(self, request, tenantId, projectId):
        project = self.get_project()
        executions, capped = capped_count(Execution.objects.filter(project=project))
        return Response({
            "ProjectId": str(project.id), "ProjectName": project.name, "ProjectDescription": None,
            "DateCreated": iso(project.created_at), "DateModified": None,
            "Statistics": {
                "TotalDatasets": 0, "TotalInvestigations": 0, "TotalDashboards": 0, "TotalNotebooks": 0,
                "TotalUsers": self.member_count(),
                "TotalWorkflows": Workflow.objects.filter(project=project).count(),
                "TotalActions": Action.objects.filter(project=project).count(),
                "TotalExecutions": executions, "TotalExecutionsCapped": capped,
            },
        })


class MindzieProjectPingView(MindziePingView):
    @ping_schema("mindzie_project_ping", "Project ping", parameters=[TENANT_PARAM], authenticated=True)
    def get(self, request, tenantId):
        return super().get(request)


class MindzieProjectUnauthorizedPingView(MindzieUnauthorizedPingView):
    @ping_schema("mindzie_project_unauthorized_ping", "Project ping without credentials", parameters=[TENANT_PARAM],
                 authenticated=False)
    def get(self, request, tenantId):
        return super().get(request)
