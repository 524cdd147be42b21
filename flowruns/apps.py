from django.apps import AppConfig


class FlowrunsConfig(AppConfig):
    name = "flowruns"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from executions.signals import execution_changed
        from flowruns.services import mirror_execution

        execution_changed.connect(mirror_execution, dispatch_uid="flowruns.mirror_execution")
