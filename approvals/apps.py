from django.apps import AppConfig


class ApprovalsConfig(AppConfig):
    name = "approvals"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from approvals import tasks  # noqa: F401 (registers the Celery tasks)
        from approvals.observe import pending_approval_gauges
        from approvals.page_links import execution_page_links
        from approvals.services import approvals_of, cancel_pending_approvals, expire_overdue_approvals
        from approvals.task_types import APPROVAL
        from config.metrics import register_gauges
        from executions.plugins import register_archive_section, register_page_links, register_sweep_pass
        from executions.signals import cancel_requested, execution_finished
        from workflows.registry import register

        register(APPROVAL)
        # An execution that ends, or is being cancelled, waits for nobody any more.
        execution_finished.connect(cancel_pending_approvals, dispatch_uid="approvals.cancel_on_finish",
                                   when=lambda task_types, **kwargs: APPROVAL.name in task_types)
        cancel_requested.connect(cancel_pending_approvals, dispatch_uid="approvals.cancel_on_cancel")
        register_sweep_pass("expired_approvals", expire_overdue_approvals)
        # Approvals go with their execution (a cascade); the retention archive keeps them beside it.
        register_archive_section("approvals", approvals_of)
        register_page_links("Approvals", execution_page_links)
        register_gauges(pending_approval_gauges)
