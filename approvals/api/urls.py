from django.urls import path
from rest_framework.routers import DefaultRouter

from approvals.api.views import ApprovalViewSet, ExecutionApprovalsView

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("approvals", ApprovalViewSet, basename="approval")

urlpatterns = [
    *router.urls,
    path("executions/<uuid:execution_id>/approvals/", ExecutionApprovalsView.as_view(), name="execution-approvals"),
]
