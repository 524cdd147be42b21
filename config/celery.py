"""The Celery application: ``celery -A config worker`` and ``celery -A config beat``."""

import logging.config
import os
import time

from celery import Celery, signals
from django.conf import settings
from django.db import close_old_connections, connections

from config import broker
from config.cli import load_settings

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

broker.install()  # filesystem:// (the embedded default) writes each message atomically

app = Celery("flowgate")


@app.on_configure.connect
def _read_settings_first(**kwargs) -> None:
    """A configuration error stops ``celery -A config worker|beat`` with one line naming the variable.

    Not at import: every entry point imports this module (``config/__init__.py``), and the ASGI
    application sets its own defaults (pooled connections) before the settings are read.
    """
    load_settings()


app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


# How often a worker process checks its idle database connection (a "SELECT 1" with health checks).
CONNECTION_CHECK_SECONDS = 1.0
_last_connection_check = [0.0]


@signals.task_prerun.connect
@signals.task_postrun.connect
def _reuse_database_connections(**kwargs) -> None:
    """Keep a worker's database connection across tasks unless it broke or outlived CONN_MAX_AGE.

    ``CELERY_DB_REUSE_MAX`` stops Celery's fix-up from closing it around every task; this does
    what Django does around every request instead, at most once a second (each check costs the
    health check's round trip), and at once after a database error.
    """
    task = kwargs.get("task")
    if task is not None and getattr(task.request, "is_eager", False):
        return  # a test running tasks in its own process and transaction
    now = time.monotonic()
    broken = any(conn.errors_occurred for conn in connections.all(initialized_only=True))
    if broken or now - _last_connection_check[0] >= CONNECTION_CHECK_SECONDS:
        _last_connection_check[0] = now
        close_old_connections()


@signals.setup_logging.connect
def _log_as_configured(**kwargs) -> None:
    """Workers and beat log through the settings' LOGGING (LOG_LEVEL, FLOWGATE_LOG_FORMAT), like the web process.

    Without a receiver here Celery would set the root logger to its own ``--loglevel`` (WARNING by
    default), and the engine's INFO lines about executions would never show.
    """
    logging.config.dictConfig(settings.LOGGING)
