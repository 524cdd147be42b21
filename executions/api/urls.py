from rest_framework.routers import DefaultRouter

from executions.api.views import ExecutionViewSet

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("executions", ExecutionViewSet, basename="execution")

urlpatterns = router.urls
