"""The Celery application: ``celery -A config worker`` and ``celery -A config beat``."""

import os

from celery import Celery, signals
from django.db import close_old_connections

from config import broker

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

broker.install()  # filesystem:// (the embedded default) writes each message atomically

app = Celery("flowgate")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.task_prerun.connect
@signals.task_postrun.connect
def _reuse_database_connections(**kwargs) -> None:
    """Keep a worker's database connection across tasks unless it broke or outlived CONN_MAX_AGE.

    ``CELERY_DB_REUSE_MAX`` stops Celery's fix-up from closing it around every task; this does
    what Django does around every request instead.
    """
    task = kwargs.get("task")
    if task is not None and getattr(task.request, "is_eager", False):
        return  # a test running tasks in its own process and transaction
    close_old_connections()
