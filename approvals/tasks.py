"""Celery tasks of approvals: thin, idempotent, by id."""

from celery import shared_task

from approvals import services


@shared_task(name="flowgate.notify_approvers", ignore_result=True)
def notify_approvers_message(approval_id: str) -> None:
    # notify_approvers claims the approval's notified_at first, so a duplicate message sends nothing.
    services.notify_approvers(approval_id)
