"""Container health checks: ``python scripts/healthcheck.py web|worker|beat|flower``.

* web: ``GET /readyz`` answers 200 (database and broker reachable).
* worker: this container's Celery worker answers a ping over the broker.
* beat: the broker is reachable and beat has written its schedule file recently.
* flower: ``GET /healthcheck`` answers 200.
Exit status 0 means healthy; anything else is printed on stderr.
"""

from __future__ import annotations

import glob
import os
import socket
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Beat syncs its schedule file every three minutes at most; twice that plus slack means it is stuck.
BEAT_STALE_SECONDS = 10 * 60


def _get(url: str, host: str | None = None) -> None:
    request = urllib.request.Request(url, headers={"Host": host} if host else {})
    with urllib.request.urlopen(request, timeout=5) as response:
        if response.status != 200:
            raise RuntimeError(f"{url} answered {response.status}")


def _django() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def web() -> None:
    port = os.environ.get("PORT", "8000")
    # /readyz must answer under an allowed host name, not the container's address.
    hosts = [h for h in os.environ.get("ALLOWED_HOSTS", "localhost").split(",") if h.strip() and "*" not in h]
    _get(f"http://127.0.0.1:{port}/readyz", host=(hosts[0].strip().lstrip(".") if hosts else "localhost"))


def worker() -> None:
    _django()
    from config.celery import app

    name = f"celery@{socket.gethostname()}"
    replies = app.control.ping(destination=[name], timeout=5)
    if not replies:
        raise RuntimeError(f"worker {name} did not answer a ping")


def beat() -> None:
    _django()
    from django.conf import settings

    from config.celery import app

    with app.connection_for_write() as connection:
        connection.ensure_connection(max_retries=1, timeout=5)
    files = glob.glob(f"{settings.CELERY_BEAT_SCHEDULE_FILENAME}*")
    if not files:
        raise RuntimeError(f"no beat schedule file at {settings.CELERY_BEAT_SCHEDULE_FILENAME}")
    age = time.time() - max(os.path.getmtime(f) for f in files)
    if age > BEAT_STALE_SECONDS:
        raise RuntimeError(f"beat has not written its schedule for {age:.0f}s")


def flower() -> None:
    port = os.environ.get("FLOWER_PORT", "5555")
    _get(f"http://127.0.0.1:{port}/healthcheck")


CHECKS = {"web": web, "worker": worker, "beat": beat, "flower": flower}


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[1] not in CHECKS:
        print(f"usage: {argv[0]} {'|'.join(CHECKS)}", file=sys.stderr)
        return 2
    try:
        CHECKS[argv[1]]()
    except Exception as exc:  # any failure means unhealthy
        print(f"unhealthy: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
