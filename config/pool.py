"""The workers' process pool: Celery's prefork pool, riding out a pool process killed while it starts.

Celery checks once, when its consumer first starts, that no pool process has exited since the pool
was made, and otherwise stops the whole worker (``WorkerLostError: Could not start worker
processes``). A process killed in that first second -- by an operator, the out-of-memory killer, a
test -- is no sign of a broken installation, and took the worker down with it. Here it is replaced
like one that dies later (billiard's pool maintenance starts a new one within a second); only when
every process has exited, as when they cannot start at all, does the worker stop as before.
"""

from __future__ import annotations

import logging

from celery.concurrency.prefork import TaskPool as PreforkPool

logger = logging.getLogger("flowgate.worker")


class TaskPool(PreforkPool):
    def did_start_ok(self) -> bool:
        processes = list(self._pool._pool)
        # exitcode polls without blocking; the pool's own maintenance joins and replaces the exited.
        exited = [p for p in processes if p._popen is None or p.exitcode is not None]
        if not exited:
            return True
        if len(exited) == len(processes):
            return False  # none could start: stop, as Celery does
        logger.warning("%d of %d pool processes exited while the worker started (%s); starting new ones",
                       len(exited), len(processes), ", ".join(f"pid {p.pid} exit {p.exitcode}" for p in exited))
        return True
