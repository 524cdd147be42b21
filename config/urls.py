"""URL map. Documented surfaces come before the native routers where their paths overlap."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from config import errors, health, metrics
from config.docs import served_offline

handler404 = "config.errors.not_found"
handler500 = "config.errors.server_error"

urlpatterns = [
    path("", RedirectView.as_view(url="/approvals/", permanent=False)),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics.metrics_view, name="metrics"),
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The documents' pages: everything they load comes from Flowgate itself, and the browser is told so.
    path("api/docs/", served_offline(SpectacularSwaggerView.as_view(url_name="schema")), name="swagger-ui"),
    path("api/redoc/", served_offline(SpectacularRedocView.as_view(url_name="schema")), name="redoc"),
    # The native executions API overlaps no surface's path and is read the most: it is resolved first.
    path("api/v1/", include("executions.api.urls")),
    # Documented surfaces at their exact paths.
    path("", include("records.api.urls")),
    path("", include("executions.api.surface_urls")),
    path("", include("approvals.api.surface_urls")),
    path("", include("flowruns.api.urls")),
    # Native API.
    path("api/v1/", include("accounts.api.urls")),
    path("api/v1/", include("workflows.api.urls")),
    path("api/v1/", include("approvals.api.urls")),
    path("api/v1/", include("schedules.api.urls")),
    path("api/v1/", include("webhooks.api.urls")),
    path("approvals/", include("approvals.urls")),
    # Unknown API paths answer the JSON 404, whatever the method, also when DEBUG is on (Django's
    # debug page is HTML), in the shape of the surface they fall under.
    re_path(r"^(api|workflows)/", errors.not_found),
]
