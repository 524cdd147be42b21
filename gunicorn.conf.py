"""Settings every Flowgate web process reads: gunicorn loads ./gunicorn.conf.py by default.

Refold's documented request headers ``linked_account_id`` and ``sync_execution`` contain
underscores, which gunicorn drops unless headers are mapped as written (``linked_account_id``
arrives as ``HTTP_LINKED_ACCOUNT_ID``, the same name as ``linked-account-id``). A proxy in front
must pass such headers too (nginx: ``underscores_in_headers on;``) and, as with the hyphenated
forms, drop or overwrite any ``X_Forwarded_*`` spelling that clients send.
"""

header_map = "dangerous"

# A request line (path and query, a long cursor say) up to gunicorn's own cap of 1 MB reaches
# Flowgate, which answers a bad one in the surface's error shape; gunicorn's default, 4094 bytes,
# answered an HTML 414 page instead. uvicorn, the default web server, has no such limit either.
limit_request_line = 0


def on_starting(server):
    """A configuration error stops gunicorn here, with its one line and exit status 2: a worker
    that exited at its import would be started again and again, printing the same error."""
    from config.cli import load_settings

    load_settings()


def post_worker_init(worker):
    """gunicorn's own refusals (a control character in a header, say) answer JSON, not HTML."""
    from config.webserver_errors import answer_gunicorn_errors_in_json

    answer_gunicorn_errors_in_json(worker)
