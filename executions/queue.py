"""Send Celery messages only after the surrounding transaction commits.

The database row is the truth and the message only a nudge: if sending fails (broker down),
the error is logged and the sweeper re-sends from the row later.

Messages are named (``flowgate.run_task``), not imported: the modules that send them need not
import the Celery tasks that call back into them. Each app's ``AppConfig.ready()`` imports its
``tasks`` module, so every name is registered in every process.
"""

from __future__ import annotations

import logging
import threading
import time

from django.db import transaction
from kombu.exceptions import OperationalError as BrokerUnreachable

from config.celery import app

logger = logging.getLogger("flowgate.queue")

# While the broker is down every send fails: one warning per this many seconds says so.
OUTAGE_LOG_EVERY_SECONDS = 10.0


class _OutageLog:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._next = 0.0
        self._suppressed = 0

    def __call__(self, name: str, exc: Exception) -> None:
        now = time.monotonic()
        with self._lock:
            if now < self._next:
                self._suppressed += 1
                return
            suppressed, self._suppressed, self._next = self._suppressed, 0, now + OUTAGE_LOG_EVERY_SECONDS
        logger.warning("broker unreachable (%s); %s and later messages are not sent now, the sweeper sends them "
                       "once it is back%s", exc, name,
                       f" ({suppressed} more unsent since the last warning)" if suppressed else "")


log_outage = _OutageLog()


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
