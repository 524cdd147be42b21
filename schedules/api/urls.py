from accounts.api.routers import OptionalSlashRouter
from schedules.api.views import ScheduleViewSet

router = OptionalSlashRouter()
router.register("schedules", ScheduleViewSet, basename="schedule")

urlpatterns = router.urls
