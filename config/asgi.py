"""ASGI entry point: ``uvicorn config.asgi:application`` (what ``make run`` and Docker Compose start).

Under ASGI each request Django runs synchronously gets a thread of its own for its duration, so a
database connection cannot outlive its request there: persistent connections are off by default
(``DATABASE_CONN_MAX_AGE=0``); set ``DATABASE_POOL=true`` to hand connections out from a pool
instead. Live streams are async views and hold no thread while they wait.
"""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DATABASE_CONN_MAX_AGE", "0")

from django.core.asgi import get_asgi_application  # noqa: E402 (after the environment above)

application = get_asgi_application()
