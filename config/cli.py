"""The ``flowgate`` command (``manage.py`` in a checkout) and the one-line answer to a configuration error.

``flowgate migrate``, ``flowgate runflowgate``, ``flowgate bootstrap_demo``... are Django's and
Flowgate's management commands. A missing or malformed setting stops every entry point (this
command, the WSGI and ASGI applications, Celery) with ``error: <what is wrong>`` on one line and
exit status 2, instead of a traceback that names the variable at its end.
"""

from __future__ import annotations

import os
import sys
from typing import NoReturn

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management import execute_from_command_line

# The exit status of a configuration error (as for a command-line usage error).
CONFIG_ERROR_STATUS = 2


def configuration_error(exc: ImproperlyConfigured) -> NoReturn:
    print(f"error: {exc}", file=sys.stderr)
    raise SystemExit(CONFIG_ERROR_STATUS)


def load_settings() -> None:
    """Read the settings now, so that a configuration error stops the process with one line."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    try:
        settings.INSTALLED_APPS  # noqa: B018 (reading one setting loads them all)
    except ImproperlyConfigured as exc:
        configuration_error(exc)


def main(argv: list[str] | None = None) -> None:
    load_settings()
    execute_from_command_line(argv if argv is not None else sys.argv)
