"""Liveness and readiness probes."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.http import require_GET

from config.celery import app

logger = logging.getLogger("flowgate.health")


@require_GET
def healthz(request):
    """The process is alive and answering."""
    return JsonResponse({"status": "ok"})


def _check_database() -> str | None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any driver error means "not ready"
        logger.warning("readiness: database unreachable: %s", exc)
        return f"database unreachable: {exc.__class__.__name__}"
    return None


def _check_broker() -> str | None:
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:
        logger.warning("readiness: broker unreachable: %s", exc)
        return f"broker unreachable: {exc.__class__.__name__}"
    return None


@require_GET
def readyz(request):
    """The database and the Celery broker are reachable (503 otherwise)."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        broker_problem = None
    else:
        broker_problem = _check_broker()
    problems = [p for p in (_check_database(), broker_problem) if p]
    body = {"status": "ok" if not problems else "unavailable", "checks": {
        "database": "ok" if not any(p.startswith("database") for p in problems) else "failing",
        "broker": "ok" if not any(p.startswith("broker") for p in problems) else "failing",
    }}
    if problems:
        body["problems"] = problems
    return JsonResponse(body, status=200 if not problems else 503)
