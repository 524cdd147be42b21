"""Formats shared by the API surfaces."""

from __future__ import annotations

from datetime import datetime

from rest_framework.fields import DateTimeField

_datetime = DateTimeField()


def iso(value: datetime | None) -> str | None:
    """A datetime as the API writes it (ISO 8601, UTC as ``Z``); None stays None."""
    return _datetime.to_representation(value) if value is not None else None
