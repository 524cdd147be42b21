from rest_framework.routers import DefaultRouter

from workflows.api.views import WorkflowViewSet

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("workflows", WorkflowViewSet, basename="workflow")

urlpatterns = router.urls
