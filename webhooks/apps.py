from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    """Signed webhooks: project subscriptions and one-off callbacks, sent by workers after commit."""

    name = "webhooks"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from executions.plugins import register_start_option, register_sweep_pass
        from executions.signals import execution_finished, feature_event
        from webhooks import tasks  # noqa: F401 (registers the Celery tasks)
        from webhooks.services import (
            link_callback,
            queue_execution_event,
            queue_feature_event,
            send_due_deliveries,
        )

        # start_execution(options={"callback_url": ...}): a one-off callback when the execution ends.
        register_start_option("callback_url", link_callback)
        # Delivery rows are written in the transaction of the event and sent after it commits.
        execution_finished.connect(queue_execution_event, dispatch_uid="webhooks.execution_finished")
        feature_event.connect(queue_feature_event, dispatch_uid="webhooks.feature_event")
        # Deliveries whose message was lost, or whose worker died, are sent again.
        register_sweep_pass("webhook_deliveries", send_due_deliveries)
