from django.urls import re_path

from accounts.api.routers import OptionalSlashRouter
from executions.api.streams import execution_events
from executions.api.views import ExecutionViewSet

router = OptionalSlashRouter()
router.register("executions", ExecutionViewSet, basename="execution")

urlpatterns = [
    re_path(r"^executions/(?P<pk>[^/]+)/events/?$", execution_events, name="execution-events"),
    *router.urls,
]
