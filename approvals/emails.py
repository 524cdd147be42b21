"""The email an approver gets when an approval is requested."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMessage
from django.template.loader import render_to_string

from approvals import links


def lifetime(seconds: int) -> str:
    """A duration in words: "7 days", "12 hours", "30 minutes"."""
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size * (2 if unit != "minute" else 1):
            count = round(seconds / size)
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} seconds"


def approval_requested_messages(approval, recipients) -> list[EmailMessage]:
    """One message per recipient, with the approval's page and, when enabled, a signed link."""
    detail_url = links.detail_url(approval)
    execution = approval.execution
    messages = []
    for recipient in recipients:
        signed = None
        if settings.FLOWGATE_APPROVAL_SIGNED_LINKS and recipient.user is not None:
            signed = links.signed_link(approval, recipient.user)
        context = {
            "approval": approval,
            "execution": execution,
            "workflow": execution.workflow,
            "recipient": recipient,
            "detail_url": detail_url,
            "signed_link": signed,
            "link_lifetime": lifetime(settings.FLOWGATE_APPROVAL_LINK_MAX_AGE_SECONDS),
        }
        subject = " ".join(render_to_string("approvals/email/approval_requested_subject.txt", context).split())
        body = render_to_string("approvals/email/approval_requested.txt", context)
        messages.append(EmailMessage(subject=subject, body=body, to=[recipient.email]))
    return messages
