"""Native schedule endpoints: CRUD, and the executions each schedule started."""

from __future__ import annotations

import django_filters
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import viewsets
from rest_framework.decorators import action

from accounts.scoping import TenantScopedMixin
from config.errors import ErrorSerializer
from config.filters import TruthFilter
from executions.api.serializers import ExecutionSerializer, for_listing
from executions.models import Execution
from schedules import services
from schedules.api.serializers import ScheduleSerializer
from schedules.models import Schedule

ERRORS = {code: OpenApiResponse(ErrorSerializer) for code in (400, 401, 403, 404)}


class ScheduleFilter(django_filters.FilterSet):
    # django-filter's own boolean filter reads an unknown word as "no filter"; this one answers 400.
    enabled = TruthFilter()

    class Meta:
        model = Schedule
        fields = ["workflow", "enabled"]


@extend_schema_view(
    list=extend_schema(summary="List schedules", tags=["schedules"],
                       responses={200: ScheduleSerializer(many=True), **ERRORS}),
    retrieve=extend_schema(summary="Get a schedule", tags=["schedules"], responses={200: ScheduleSerializer, **ERRORS}),
    create=extend_schema(summary="Create a schedule", tags=["schedules"], responses={201: ScheduleSerializer, **ERRORS}),
    update=extend_schema(summary="Replace a schedule", tags=["schedules"], responses={200: ScheduleSerializer, **ERRORS}),
    partial_update=extend_schema(summary="Change a schedule (a new expression, zone or enabling plans its next "
                                 "run from now)", tags=["schedules"], responses={200: ScheduleSerializer, **ERRORS}),
    destroy=extend_schema(summary="Delete a schedule (its executions stay)", tags=["schedules"],
                          responses={204: None, **ERRORS}),
)
class ScheduleViewSet(TenantScopedMixin, viewsets.ModelViewSet):
    queryset = Schedule.objects.select_related("workflow")
    serializer_class = ScheduleSerializer
    filterset_class = ScheduleFilter

    def get_object(self):
        schedule = services.get_schedule_for(self.request.auth, self.kwargs["pk"], self.get_queryset())
        self.check_object_permissions(self.request, schedule)
        return schedule

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        serializer.instance = services.create_schedule(timezone_name=data.pop("timezone"), caller=self.request.auth,
                                                       **data)

    def perform_update(self, serializer):
        data = {k: v for k, v in serializer.validated_data.items() if k != "workflow"}
        serializer.instance = services.update_schedule(serializer.instance, **data)

    def perform_destroy(self, instance):
        services.delete_schedule(instance)

    @extend_schema(summary="The executions a schedule started, newest first", tags=["schedules"],
                   responses={200: ExecutionSerializer(many=True), **ERRORS})
    @action(detail=True, methods=["get"], filterset_class=None)
    def executions(self, request, pk=None):
        schedule = self.get_object()
        queryset = for_listing(Execution.objects.filter(tenant_id=schedule.tenant_id, origin_id=schedule.pk))
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(ExecutionSerializer(page, many=True).data)

    @property
    def cursor_ordering(self):
        return ("-created_at", "-id")
