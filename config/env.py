"""Strict readers for settings that come from the environment.

Every reader fails loudly with the variable's name, so a wrong production setting stops the
process at start instead of surfacing as a confusing error on the first request.
"""

from __future__ import annotations

import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from config.values import parse_number, parse_truth


def env_str(name: str, default: str | None = None) -> str | None:
    """Return the variable, or the contents of the file named by NAME_FILE, or the default."""
    file_name = os.environ.get(f"{name}_FILE")
    if file_name:
        try:
            return Path(file_name).read_text().strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE points at {file_name!r}, which cannot be read: {exc}") from exc
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value


def env_required(name: str) -> str:
    """Return a variable that must be set (a secret in production, for example)."""
    value = env_str(name)
    if value is None:
        raise ImproperlyConfigured(
            f"{name} must be set in the environment (or {name}_FILE must name a file holding it)."
        )
    return value


def env_bool(name: str, default: bool) -> bool:
    """Parse true/false (also 1/0, yes/no, on/off, any case); anything else is a configuration error."""
    value = env_str(name)
    if value is None:
        return default
    truth = parse_truth(value)
    if truth is None:
        raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}.")
    return truth


def env_int(name: str, default: int, minimum: int | None = None) -> int:
    value = env_str(name)
    if value is None:
        return default
    try:
        number = parse_number(value, integer=True)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}.") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {number}.")
    return number


def env_list(name: str, default: list[str]) -> list[str]:
    value = env_str(name)
    if value is None:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]
