"""Send Celery messages only after the surrounding transaction commits.

The database row is the truth and the message only a nudge: if sending fails (broker down),
the error is logged and the sweeper re-sends from the row later.
"""

from __future__ import annotations

import logging

from django.db import transaction

logger = logging.getLogger("flowgate.queue")


def enqueue_on_commit(task, *args, **options) -> None:
    """``task.apply_async(args, **options)`` once the current transaction has committed."""

    def send() -> None:
        try:
            task.apply_async(args=args, **options)
        except Exception:
            if getattr(task.app.conf, "task_always_eager", False):
                raise
            logger.exception("Could not send %s%r; the sweeper will re-send it", task.name, args)

    transaction.on_commit(send)
