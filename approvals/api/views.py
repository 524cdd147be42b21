"""Native approval endpoints: list, read, approve, reject, and an execution's approvals."""

from __future__ import annotations

from django.db.models import Prefetch
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import generics, mixins, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.permissions import ALL_ROLES
from accounts.scoping import TenantScopedMixin
from approvals import services
from approvals.api.filters import ApprovalFilter
from approvals.api.serializers import ApprovalSerializer, DecideSerializer
from approvals.models import Approval, ApprovalDecision
from config.errors import ErrorSerializer
from executions.services import get_execution_for

ERRORS = {code: OpenApiResponse(ErrorSerializer) for code in (400, 401, 403, 404)}
DECIDE_RESPONSES = {
    200: ApprovalSerializer,
    409: OpenApiResponse(ErrorSerializer, description="Already decided, expired or cancelled, or you already voted."),
    **ERRORS,
}


def approval_queryset():
    return Approval.objects.select_related("execution", "execution__workflow", "task_run").prefetch_related(
        Prefetch("decisions", queryset=ApprovalDecision.objects.order_by("created_at", "id")))


@extend_schema_view(
    list=extend_schema(summary="List approvals", responses={200: ApprovalSerializer(many=True), **ERRORS}),
    retrieve=extend_schema(summary="Get an approval", responses={200: ApprovalSerializer, **ERRORS}),
)
class ApprovalViewSet(TenantScopedMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    queryset = approval_queryset()
    serializer_class = ApprovalSerializer
    filterset_class = ApprovalFilter
    cursor_ordering = ("-requested_at", "-id")
    # Every member reaches the decision; decide_approval answers 403 with the reason when it may not.
    action_roles = {"approve": ALL_ROLES, "reject": ALL_ROLES}

    def get_object(self):
        approval = services.get_approval_for(self.request.auth, self.kwargs["pk"])
        self.check_object_permissions(self.request, approval)
        return approval

    @extend_schema(summary="Approve", description="Vote to approve. With required_approvals > 1 the approval "
                   "stays pending until that many distinct approvers approved; the execution then resumes.",
                   request=DecideSerializer, responses=DECIDE_RESPONSES)
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        return self._decide(request, "approve")

    @extend_schema(summary="Reject", description="Reject: one rejection settles the approval. The task fails "
                   "(on_reject: fail) or succeeds with decision \"rejected\" for a condition to route (continue).",
                   request=DecideSerializer, responses=DECIDE_RESPONSES)
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        return self._decide(request, "reject")

    def _decide(self, request, decision: str) -> Response:
        approval = self.get_object()
        serializer = DecideSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        approval = services.decide_approval(approval, request.auth, decision, **serializer.validated_data)
        fresh = approval_queryset().get(pk=approval.pk)
        return Response(ApprovalSerializer(fresh, context=self.get_serializer_context()).data)


@extend_schema(summary="An execution's approvals", responses={200: ApprovalSerializer(many=True), **ERRORS})
class ExecutionApprovalsView(generics.ListAPIView):
    serializer_class = ApprovalSerializer
    filterset_class = ApprovalFilter
    cursor_ordering = ("-requested_at", "-id")

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no caller
            return Approval.objects.none()
        execution = get_execution_for(self.request.auth, self.kwargs["execution_id"])
        return approval_queryset().filter(execution=execution)
