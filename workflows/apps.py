from django.apps import AppConfig


class WorkflowsConfig(AppConfig):
    name = "workflows"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from executions.signals import execution_finished
        from workflows.actions import on_execution_finished

        # An action's execution that ends moves (or leaves) its record; see workflows.actions.
        execution_finished.connect(on_execution_finished, dispatch_uid="workflows.record_action_finished")
