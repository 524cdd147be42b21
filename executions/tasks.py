"""Celery tasks: thin, idempotent wrappers that take ids and call one engine or service function.

They do not retry through Celery: the database row is the truth, duplicate messages are
harmless (every change is a guarded transition), and the sweeper re-sends what was lost. A
message's hard time limit (set when it is sent) bounds the chain of tasks it may run inline.

A message whose task failed for good ends by raising ``StepFailed`` (after everything is
recorded), so Flower shows it as FAILURE with the task and the execution; Celery logs an expected
exception at INFO, without a traceback, and acknowledges the message as for any other failure.
"""

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError

from config.logs import log_context
from executions import engine, retention, services
from executions.leases import database_reach

logger = logging.getLogger("flowgate.engine")


class StepFailed(Exception):
    """A task that this message ran failed (recorded in the database like any outcome)."""


def _chain(request) -> engine.Chain:
    hard_limit = (request.timelimit or (None, None))[0]
    return engine.Chain(time_limit=float(hard_limit) if hard_limit else None)


def _report(request, chain: engine.Chain) -> None:
    if chain.failures and not request.is_eager:
        raise StepFailed("; ".join(chain.failures))


@contextmanager
def _database_outage_noted(name: str, object_id: str, eager: bool = False) -> Iterator[None]:
    """A message whose work the database's outage cut short ends quietly: the sweeper picks the work up.

    Its rows say what is left to do (a queued execution, a task whose lease runs out); one warning
    says why, instead of an error with a traceback for every message while the database is away.
    """
    try:
        yield
    except (OperationalError, InterfaceError) as exc:
        if eager:
            raise
        database_reach.failed()
        logger.warning("%s(%s) stopped: the database is unreachable (%s); the sweeper takes it up again once "
                       "it answers", name, object_id, str(exc).strip().splitlines()[0] if str(exc).strip()
                       else exc.__class__.__name__)


@shared_task(name=engine.ADVANCE, ignore_result=True, bind=True, throws=(StepFailed,))
def advance_message(self, execution_id: str) -> None:
    chain = _chain(self.request)
    with log_context(execution_id=execution_id), _database_outage_noted(engine.ADVANCE, execution_id,
                                                                        self.request.is_eager):
        engine.advance_and_run(execution_id, chain=chain)
    _report(self.request, chain)


@shared_task(name=engine.RUN_TASK, ignore_result=True, bind=True, throws=(StepFailed,))
def run_task_message(self, task_run_id: str) -> None:
    chain = _chain(self.request)
    with _database_outage_noted(engine.RUN_TASK, task_run_id, self.request.is_eager):
        engine.run_task(task_run_id, chain=chain)
    _report(self.request, chain)


@shared_task(name=engine.WAKE, ignore_result=True, bind=True)
def wake_message(self, task_run_id: str) -> None:
    with _database_outage_noted(engine.WAKE, task_run_id, self.request.is_eager):
        services.wake_task(task_run_id)


@shared_task(name="flowgate.sweep", ignore_result=True)
def sweep_message() -> dict:
    try:
        return services.sweep()
    except (OperationalError, InterfaceError) as exc:
        # The database is unreachable: nothing to sweep now, and leases that expire meanwhile are
        # no evidence of dead workers (the sweeper gives them a grace once it answers again).
        database_reach.failed()
        logger.warning("sweep skipped: the database is unreachable (%s); the next sweep tries again",
                       exc.__class__.__name__)
        return {}


@shared_task(name="flowgate.purge", ignore_result=True)
def purge_message() -> dict:
    """Remove what the retention rules let go, for at most FLOWGATE_PURGE_MAX_SECONDS; the next run goes on."""
    return retention.purge(max_seconds=settings.FLOWGATE_PURGE_MAX_SECONDS)
