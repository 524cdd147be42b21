"""Filters and tags of the approvers' pages: who did something, and when, in words a person reads."""

from __future__ import annotations

from datetime import UTC, datetime

from django import template
from django.utils import timezone
from django.utils.html import format_html
from django.utils.timesince import timesince, timeuntil

from accounts.caller import actor_words

register = template.Library()

# Below this, "0 minutes ago" says nothing: the page says "just now" (the exact time is in the title).
JUST_NOW_SECONDS = 60


register.filter("actor", actor_words)


def _exact(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


@register.filter
def relative(moment: datetime | None) -> str:
    """'just now', '5 minutes ago' or 'in 2 hours'."""
    if moment is None:
        return ""
    seconds = (timezone.now() - moment).total_seconds()
    if abs(seconds) < JUST_NOW_SECONDS:
        return "just now"
    if seconds > 0:
        return f"{timesince(moment)} ago"
    return f"in {timeuntil(moment)}"


@register.simple_tag
def moment(value: datetime | None, exact: bool = False) -> str:
    """A ``<time>`` saying how long ago (or until), with the exact time to the second as its title.

    With ``exact=True`` the exact time is shown too, the relative one following in brackets.
    """
    if value is None:
        return ""
    stamp = _exact(value)
    if exact:
        return format_html('<time datetime="{}" title="{}">{} ({})</time>', value.isoformat(), stamp, stamp,
                           relative(value))
    return format_html('<time datetime="{}" title="{}">{}</time>', value.isoformat(), stamp, relative(value))
