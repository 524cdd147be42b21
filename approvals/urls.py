"""The approvers' web pages, under /approvals/."""

from django.urls import path

from approvals import views

app_name = "approvals"

urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("bulk/", views.bulk_approve, name="bulk-approve"),
    path("<uuid:approval_id>/", views.detail, name="detail"),
    path("<uuid:approval_id>/decide/", views.decide, name="decide"),
    path("executions/<uuid:execution_id>/", views.execution_status, name="execution"),
    path("link/<str:token>/", views.signed_link, name="signed-link"),
]
