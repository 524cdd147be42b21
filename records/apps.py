from django.apps import AppConfig


class RecordsConfig(AppConfig):
    """Records, stages, fields and actions (Flowdash's tasks and actions; mindzie's actions)."""

    name = "records"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from executions.plugins import register_context
        from executions.signals import execution_finished
        from records.actions import finish_action_execution
        from records.services import record_of_execution
        from records.task_types import UPDATE_RECORD
        from workflows.registry import register

        register(UPDATE_RECORD)
        # Templates of an execution started on a record see it as ``record``.
        register_context("record", record_of_execution)
        # An action's execution that ends moves (or leaves) its record.
        # Only executions that run steps of their own (never a workflow's version) are actions'.
        execution_finished.connect(finish_action_execution, dispatch_uid="records.finish_action_execution",
                                   when=lambda execution, **kwargs: execution.definition is not None)
