"""Send Celery messages only after the surrounding transaction commits.

The database row is the truth and the message only a nudge: if sending fails (broker down),
the error is logged and the sweeper re-sends from the row later.

Messages are named (``flowgate.run_task``), not imported: the modules that send them need not
import the Celery tasks that call back into them. Each app's ``AppConfig.ready()`` imports its
``tasks`` module, so every name is registered in every process.
"""

from __future__ import annotations

import logging

from django.db import transaction

from config.celery import app

logger = logging.getLogger("flowgate.queue")


def enqueue_on_commit(name: str, *args, **options) -> None:
    """Send the Celery task ``name`` with ``args`` once the current transaction has committed."""

    def send() -> None:
        task = app.tasks[name]
        try:
            task.apply_async(args=args, **options)
        except Exception:
            if app.conf.task_always_eager:
                raise
            logger.exception("Could not send %s%r; the sweeper will re-send it", name, args)

    transaction.on_commit(send)
