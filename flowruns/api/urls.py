"""Port's flow-runs paths, mounted at the root (no trailing slashes, as Port documents them)."""

from django.urls import path

from flowruns.api import port

urlpatterns = [
    path("api/v1/flow-runs", port.FlowRunListView.as_view(), name="port-flow-runs"),
    path("api/v1/flow-runs/<str:id_>", port.FlowRunDetailView.as_view(), name="port-flow-run"),
]
