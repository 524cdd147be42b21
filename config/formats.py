"""Formats shared by the API surfaces."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from rest_framework.fields import DateTimeField

_datetime = DateTimeField()


def iso(value: datetime | None) -> str | None:
    """A datetime as the API writes it (ISO 8601, UTC as ``Z``); None stays None."""
    return _datetime.to_representation(value) if value is not None else None


def pretty_json(value: Any) -> str:
    """``value`` as indented JSON for people to read (keys sorted; dates, UUIDs and the like as text)."""
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)
