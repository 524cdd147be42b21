"""Signatures as the Standard Webhooks specification describes them.

``webhook-signature`` is ``v1,<base64 HMAC-SHA256>`` over ``<webhook-id>.<webhook-timestamp>.<body>``,
keyed with the bytes of the secret after its ``whsec_`` prefix (base64); several signatures
(during a secret's rotation) are separated by spaces.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

PREFIX = "whsec_"
SECRET_BYTES = 32


def generate_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix(PREFIX))
    digest = hmac.new(key, f"{message_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signature_header(signing_secrets: list[str], message_id: str, timestamp: int, body: bytes) -> str:
    return " ".join(sign(secret, message_id, timestamp, body) for secret in signing_secrets)


def verify(secret: str, message_id: str, timestamp: str | int, body: bytes, header: str) -> bool:
    """Whether one of the header's signatures is the secret's (what a receiver checks)."""
    expected = sign(secret, message_id, int(timestamp), body)
    return any(hmac.compare_digest(expected, candidate) for candidate in header.split())
