"""The Celery application: ``celery -A config worker`` and ``celery -A config beat``."""

import os

from celery import Celery

from config import broker

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

broker.install()  # filesystem:// (the embedded default) writes each message atomically

app = Celery("flowgate")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
