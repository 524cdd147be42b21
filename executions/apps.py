from django.apps import AppConfig


class ExecutionsConfig(AppConfig):
    name = "executions"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from config.metrics import register_gauges
        from executions import tasks  # noqa: F401 (registers the Celery tasks)
        from executions.observe import live_execution_gauges
        from executions.task_types import GENERIC_TYPES, deployment_task_types
        from workflows.registry import register, register_source

        for task_type in GENERIC_TYPES:
            register(task_type)
        register_source(deployment_task_types)
        register_gauges(live_execution_gauges)
