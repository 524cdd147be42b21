from accounts.api.routers import OptionalSlashRouter
from executions.api.views import ExecutionViewSet

router = OptionalSlashRouter()
router.register("executions", ExecutionViewSet, basename="execution")

urlpatterns = router.urls
