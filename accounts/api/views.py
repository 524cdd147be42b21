"""Native accounts endpoints: who am I, and the projects of my tenant."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import generics, viewsets
from rest_framework.response import Response

from accounts.api.serializers import MeSerializer, ProjectSerializer
from accounts.models import Project
from accounts.scoping import TenantScopedMixin
from config.errors import ErrorSerializer

ERRORS = {
    401: OpenApiResponse(ErrorSerializer, description="Missing, invalid, revoked or expired credentials."),
    403: OpenApiResponse(ErrorSerializer, description="The caller's role may not do this."),
}
NOT_FOUND = {404: OpenApiResponse(ErrorSerializer, description="No such project in the caller's tenant.")}


class MeView(generics.GenericAPIView):
    """The tenant, role and identity behind the credentials of this request."""

    serializer_class = MeSerializer
    pagination_class = None
    filter_backends: list = []

    @extend_schema(operation_id="me_retrieve", tags=["accounts"], responses={200: MeSerializer, **ERRORS})
    def get(self, request):
        return Response(self.get_serializer(request.auth).data)


@extend_schema_view(
    list=extend_schema(tags=["accounts"], responses={200: ProjectSerializer(many=True), **ERRORS}),
    retrieve=extend_schema(tags=["accounts"], responses={200: ProjectSerializer, **ERRORS, **NOT_FOUND}),
)
class ProjectViewSet(TenantScopedMixin, viewsets.ReadOnlyModelViewSet):
    """Projects of the caller's tenant (only its own project for a project-bound key)."""

    queryset = Project.objects.all()
    serializer_class = ProjectSerializer
    cursor_ordering = ("name", "id")
