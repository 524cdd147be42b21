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
from kombu.exceptions import OperationalError as BrokerUnreachable

from config.celery import app
from config.outages import OutageLog, first_line

logger = logging.getLogger("flowgate.queue")

# While the broker is down every send fails: one warning per interval says so.
outage_log = OutageLog()


def log_outage(name: str, exc: Exception) -> None:
    quiet = outage_log.due()
    if quiet is not None:
        logger.warning("broker unreachable (%s); %s and later messages are not sent now, the sweeper sends them "
                       "once it is back%s", first_line(exc), name,
                       f" ({quiet} more unsent since the last warning)" if quiet else "")


def enqueue_on_commit(name: str, *args, **options) -> None:
    """Send the Celery task ``name`` with ``args`` once the current transaction has committed."""

    def send() -> None:
        task = app.tasks[name]
        try:
            task.apply_async(args=args, **options)
        except BrokerUnreachable as exc:
            if app.conf.task_always_eager:
                raise
            log_outage(name, exc)
        except Exception:
            if app.conf.task_always_eager:
                raise
            logger.exception("Could not send %s%r; the sweeper will re-send it", name, args)

    transaction.on_commit(send)
