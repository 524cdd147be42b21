"""Celery tasks: thin, idempotent wrappers that take ids and call one engine or service function.

They do not retry through Celery: the database row is the truth, duplicate messages are
harmless (every change is a guarded transition), and the sweeper re-sends what was lost. A
message's hard time limit (set when it is sent) bounds the chain of tasks it may run inline.
"""

from celery import shared_task

from executions import engine, services


def _chain(request) -> engine.Chain:
    hard_limit = (request.timelimit or (None, None))[0]
    return engine.Chain(time_limit=float(hard_limit) if hard_limit else None)


@shared_task(name=engine.ADVANCE, ignore_result=True, bind=True)
def advance_message(self, execution_id: str) -> None:
    engine.advance_and_run(execution_id, chain=_chain(self.request))


@shared_task(name=engine.RUN_TASK, ignore_result=True, bind=True)
def run_task_message(self, task_run_id: str) -> None:
    engine.run_task(task_run_id, chain=_chain(self.request))


@shared_task(name=engine.WAKE, ignore_result=True)
def wake_message(task_run_id: str) -> None:
    services.wake_task(task_run_id)


@shared_task(name="flowgate.sweep", ignore_result=True)
def sweep_message() -> dict:
    return services.sweep()
