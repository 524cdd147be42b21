"""Celery tasks: thin, idempotent wrappers that take ids and call one engine or service function.

They do not retry through Celery: the database row is the truth, duplicate messages are
harmless (every change is a guarded transition), and the sweeper re-sends what was lost.
"""

from celery import shared_task

from executions import engine, services


@shared_task(name="flowgate.advance_execution", ignore_result=True)
def advance_message(execution_id: str) -> None:
    engine.advance(execution_id)


@shared_task(name="flowgate.run_task", ignore_result=True)
def run_task_message(task_run_id: str) -> None:
    engine.run_task(task_run_id)


@shared_task(name="flowgate.wake_task", ignore_result=True)
def wake_message(task_run_id: str) -> None:
    services.wake_task(task_run_id)


@shared_task(name="flowgate.sweep", ignore_result=True)
def sweep_message() -> dict:
    return services.sweep()
