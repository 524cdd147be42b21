"""Flowgate's Celery app, counting the SQL statements each task message sends (for the benchmark only).

    celery -A bench.instrument worker ...

Each worker process adds its count to the Redis key ``BENCH_STATEMENTS_KEY`` after every message.
"""

from __future__ import annotations

import os

import redis
from celery import signals
from django.db import connection

from config.celery import app  # noqa: F401 (the app this module's -A serves)

KEY = os.environ.get("BENCH_STATEMENTS_KEY", "bench:statements")
_count = {"n": 0}


def _counter(execute, sql, params, many, context):
    _count["n"] += 1
    return execute(sql, params, many, context)


@signals.worker_process_init.connect
def _install(**kwargs) -> None:
    connection.execute_wrappers.append(_counter)


@signals.task_postrun.connect
def _report(**kwargs) -> None:
    if _count["n"]:
        redis.Redis.from_url(os.environ["CELERY_BROKER_URL"]).incrby(KEY, _count["n"])
        _count["n"] = 0
