"""Flowgate's settings plus the benchmark's task types and a trivial view to compare requests with."""

from config.settings import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "bench.apps.BenchConfig"]  # noqa: F405
ROOT_URLCONF = "bench.urls"
