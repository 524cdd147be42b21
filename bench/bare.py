"""The baseline: a bare Celery app on the same Redis, with Flowgate's Celery settings and step body.

    celery -A bench.bare worker --pool=prefork --concurrency=2

A chain's last step pushes the time it ended onto a Redis list, which the benchmark waits on.
"""

from __future__ import annotations

import os
import time

import redis
from celery import Celery

BROKER = os.environ["CELERY_BROKER_URL"]

app = Celery("bare", broker=BROKER)
app.conf.update(
    # The settings Flowgate's worker runs with (config/settings.py).
    task_acks_late=True, task_reject_on_worker_lost=True, worker_prefetch_multiplier=1, task_ignore_result=True,
    task_serializer="json", accept_content=["json"], worker_hijack_root_logger=False,
    worker_send_task_events=True, task_send_sent_event=True,
    broker_transport_options={"visibility_timeout": 3600},
    task_default_queue=os.environ.get("BARE_QUEUE", "bare"),
)
_redis: redis.Redis | None = None


def redis_client() -> redis.Redis:
    global _redis
    if _redis is None:
        _redis = redis.Redis.from_url(BROKER)
    return _redis


@app.task(name="bare.step")
def step(seconds: float = 0.0, done_key: str | None = None) -> None:
    from bench.steps import body

    body(seconds)
    if done_key:
        redis_client().rpush(done_key, repr(time.time()))
