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

from config.cli import load_settings  # noqa: E402

load_settings()  # a configuration error: one line naming the variable, exit status 2

# Refold documents request headers with underscores. Django's ASGI handler drops every header with
# an underscore (a client could otherwise pass ``X_Forwarded_For`` for a proxy's
# ``X-Forwarded-For``), so these two, and only these, are renamed to the hyphenated spelling Django
# reads as the same META key; gunicorn does the same with ``header_map = "dangerous"``.
UNDERSCORE_HEADERS = {b"linked_account_id": b"linked-account-id", b"sync_execution": b"sync-execution"}


def with_refold_headers(app):
    async def application(scope, receive, send):
        if scope["type"] == "http" and any(name.lower() in UNDERSCORE_HEADERS for name, _ in scope["headers"]):
            headers = [(UNDERSCORE_HEADERS.get(name.lower(), name), value) for name, value in scope["headers"]]
            scope = {**scope, "headers": headers}
        return await app(scope, receive, send)

    return application


application = with_refold_headers(get_asgi_application())
