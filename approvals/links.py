"""Signed approval links: let the named approver decide from an email without signing in.

A link carries the approval id, the approver's user id and a random nonce, signed with
``TimestampSigner`` under its own salt, so it cannot be altered or used for anything else. It
expires after ``FLOWGATE_APPROVAL_LINK_MAX_AGE_SECONDS`` and decides at most once: the nonce is
recorded in ``UsedApprovalLink`` with the decision. Opening a link (GET) only shows a
confirmation page; only that page's POST decides, so mail scanners that prefetch links decide
nothing.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.urls import reverse

SALT = "flowgate.approvals.signed-link"


class LinkError(Exception):
    """A link that cannot be used; ``str(exc)`` is the sentence shown to the person who opened it."""

    status = 400
    title = "This link cannot be used"


class LinkInvalid(LinkError):
    title = "This link is not valid"


class LinkExpired(LinkError):
    status = 410
    title = "This link has expired"


class LinkUsed(LinkError):
    status = 409
    title = "This link has already been used"


@dataclass(frozen=True)
class LinkClaim:
    approval_id: str
    user_id: int
    nonce: str


def _signer() -> signing.TimestampSigner:
    return signing.TimestampSigner(salt=SALT)


def make_token(approval, user) -> str:
    """A signed token for this approver and approval, with a fresh nonce."""
    return _signer().sign_object({"a": str(approval.pk), "u": user.pk, "n": secrets.token_urlsafe(18)})


def absolute_url(path: str) -> str:
    """``FLOWGATE_BASE_URL`` + path: emails are read far from any request, so the server names itself."""
    return settings.FLOWGATE_BASE_URL.rstrip("/") + path


def detail_url(approval) -> str:
    """The absolute URL of the approval's page for approvers."""
    return absolute_url(reverse("approvals:detail", kwargs={"approval_id": approval.pk}))


def signed_link(approval, user) -> str:
    """The absolute URL of a new signed link."""
    return absolute_url(reverse("approvals:signed-link", kwargs={"token": make_token(approval, user)}))


def read_token(token: str) -> LinkClaim:
    """Check the signature and age of a token; LinkExpired or LinkInvalid otherwise."""
    max_age = settings.FLOWGATE_APPROVAL_LINK_MAX_AGE_SECONDS
    try:
        payload = _signer().unsign_object(token, max_age=max_age)
    except signing.SignatureExpired:
        raise LinkExpired("This approval link has expired; sign in to decide the approval from your inbox.") from None
    except (signing.BadSignature, ValueError, UnicodeDecodeError):
        raise LinkInvalid("This approval link is damaged or was altered; open the link from the email again, "
                          "or sign in to decide from your inbox.") from None
    try:
        return LinkClaim(approval_id=str(payload["a"]), user_id=int(payload["u"]), nonce=str(payload["n"]))
    except (KeyError, TypeError, ValueError):
        raise LinkInvalid("This approval link is damaged; sign in to decide from your inbox.") from None
