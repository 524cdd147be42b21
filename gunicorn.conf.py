"""Settings every Flowgate web process reads: gunicorn loads ./gunicorn.conf.py by default.

Refold's documented request headers ``linked_account_id`` and ``sync_execution`` contain
underscores, which gunicorn drops unless headers are mapped as written (``linked_account_id``
arrives as ``HTTP_LINKED_ACCOUNT_ID``, the same name as ``linked-account-id``). A proxy in front
must pass such headers too (nginx: ``underscores_in_headers on;``) and, as with the hyphenated
forms, drop or overwrite any ``X_Forwarded_*`` spelling that clients send.
"""

header_map = "dangerous"
