from django.apps import AppConfig


class FlowrunsConfig(AppConfig):
    name = "flowruns"
    default_auto_field = "django.db.models.BigAutoField"
