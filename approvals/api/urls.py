from django.urls import path, re_path

from accounts.api.routers import OptionalSlashRouter
from approvals.api.views import ApprovalViewSet, ExecutionApprovalsView

router = OptionalSlashRouter()
router.register("approvals", ApprovalViewSet, basename="approval")

urlpatterns = [
    *router.urls,
    path("executions/<uuid:execution_id>/approvals/", ExecutionApprovalsView.as_view(), name="execution-approvals"),
    # The same list without the trailing slash (left out of the OpenAPI document).
    re_path(r"^executions/(?P<execution_id>[0-9a-fA-F-]{36})/approvals$", ExecutionApprovalsView.as_view(schema=None)),
]
