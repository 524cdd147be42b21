"""ASGI entry point: ``uvicorn config.asgi:application`` (what ``make run`` and Docker Compose start).

Under ASGI each request Django runs synchronously gets a thread of its own for its duration, so a
database connection cannot outlive its request there, and as many requests as arrive at once
would each open one: on PostgreSQL connections come from a pool (``DATABASE_POOL``, on by default
here; ``DATABASE_POOL_MAX`` bounds them per process), and persistent connections are off.
Live streams are async views and hold no thread while they wait.
"""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DATABASE_CONN_MAX_AGE", "0")
os.environ.setdefault("DATABASE_POOL", "true")

from django.core.asgi import get_asgi_application  # noqa: E402 (after the environment above)

application = get_asgi_application()
