"""The one reader of numbers and the one reader of true/false words, for every surface.

A number or a flag may come from a JSON body, a form, a query string, a rendered template or the
environment, so it may be text; every caller reads it here, and agrees on what counts as one.
This module imports nothing from Django or DRF: the settings module reads the environment with it
before either is configured.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from datetime import UTC, datetime, timedelta
from typing import Any

TRUE_WORDS = ("true", "yes", "on", "1")
FALSE_WORDS = ("false", "no", "off", "0")
TRUTH_WORDS = TRUE_WORDS + FALSE_WORDS
_TRUTH = {**dict.fromkeys(TRUE_WORDS, True), **dict.fromkeys(FALSE_WORDS, False)}


def parse_truth(value: Any, *, words: Collection[str] = TRUTH_WORDS) -> bool | None:
    """True or False for a bool, the integer 0 or 1, or a true/false word in any case; None for anything else.

    The words are true/false, yes/no, on/off and 1/0. ``words`` narrows them for a surface whose
    document names fewer (Refold's ``sync_execution`` header takes only true and false). None
    lets the caller word the refusal: ``bool("false")`` is True, so text must never be read with
    ``bool``.
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return _TRUTH.get(str(value))
    if isinstance(value, str):
        word = value.strip().lower()
        return _TRUTH.get(word) if word in words else None
    return None


def parse_number(value: Any, *, integer: bool = False, minimum: float | None = None,
                 maximum: float | None = None) -> int | float:
    """A finite number from an int, a float or its text; ValueError says what is wrong.

    Text keeps the kind it is written in: ``"12"`` and ``"1e3"`` give ints, ``"1.5"`` and
    ``"2.0"`` floats. NaN and the infinities are refused, ``"1e400"`` too (Python reads it as
    inf): JSON has no such numbers, so they could be neither stored nor sent back. Booleans are
    not numbers, although Python counts them as ints. With ``integer`` a fractional part is
    refused and the answer is an int; ``minimum`` and ``maximum`` are inclusive bounds.
    """
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"Must be a number, not {_kind(value)}.")
    number = _number_in_text(value) if isinstance(value, str) else value
    if isinstance(number, float) and not math.isfinite(number):
        raise ValueError("Must be a finite number.")
    if integer and isinstance(number, float):
        if not number.is_integer():
            raise ValueError(f"Must be a whole number, not {value!r}.")
        number = int(number)
    if minimum is not None and number < minimum:
        raise ValueError(f"Must be at least {minimum}, not {number}.")
    if maximum is not None and number > maximum:
        raise ValueError(f"Must be at most {maximum}, not {number}.")
    return number


def _number_in_text(text: str) -> int | float:
    stripped = text.strip()
    try:
        return int(stripped)  # exact, where float would round a long integer
    except ValueError:
        pass
    try:
        number = float(stripped)
    except ValueError:
        raise ValueError(f"Must be a number, not {text!r}.") from None
    # "1e3" is a whole number written without a point: an int, as "1000" would be.
    return int(number) if number.is_integer() and "." not in stripped else number


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list | tuple):
        return "a list"
    return f"a {type(value).__name__}"


# The offsets time zones use lie between -12:00 and +14:00; PostgreSQL stores none beyond ±15:59.
MAX_UTC_OFFSET = timedelta(hours=15, minutes=59)
OFFSET_PROBLEM = "The UTC offset must lie between -15:59 and +15:59, for example 2024-05-01T09:30:00+02:00."
YEAR_PROBLEM = "The date-time must lie between years 1 and 9999 in UTC."


def utc_datetime(value: datetime) -> datetime:
    """An aware date-time moved to UTC; ValueError for an offset or a year no database column stores."""
    offset = value.utcoffset()
    if offset is not None and abs(offset) > MAX_UTC_OFFSET:
        raise ValueError(OFFSET_PROBLEM)
    try:
        return value.astimezone(UTC) if offset is not None else value
    except OverflowError:
        raise ValueError(YEAR_PROBLEM) from None
