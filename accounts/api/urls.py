from django.urls import path

from accounts.api import views
from accounts.api.routers import OptionalSlashRouter

router = OptionalSlashRouter()
router.register("projects", views.ProjectViewSet, basename="project")

urlpatterns = [
    path("me", views.MeView.as_view(), name="me"),
    *router.urls,
]
