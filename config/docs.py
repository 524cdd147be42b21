"""The API documents' pages (Swagger UI, Redoc) load nothing from outside Flowgate.

Their bundles, styles and the schema come from Flowgate itself (the sidecar package's static files,
no web fonts, no online validator). The browser is also told to refuse anything else: Redoc's bundle
always shows Redocly's logo from its CDN, an image the policy blocks and Redoc then leaves out.
Both pages run an inline script and set inline styles; Redoc's search runs in a worker made from a
``blob:`` URL; Swagger UI's "Try it out" calls Flowgate's own API.
"""

from __future__ import annotations

from functools import wraps

OFFLINE_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self' 'unsafe-inline'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "worker-src 'self' blob:",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
])


def served_offline(view):
    """``view`` with the Content-Security-Policy that keeps its page to Flowgate's own origin."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        response["Content-Security-Policy"] = OFFLINE_POLICY
        return response

    return wrapped
