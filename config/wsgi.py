"""WSGI entry point: ``gunicorn config.wsgi:application``."""

import os

from django.core.wsgi import get_wsgi_application

from config.cli import load_settings

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
load_settings()  # a configuration error: one line naming the variable, exit status 2

application = get_wsgi_application()
